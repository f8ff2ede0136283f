// The two things every reader of a user's file needs, in the one layer that
// every other layer links (frontend/ for .nn files, runtime/ for checkpoints
// and data): numbers parsed with a range check, and whole-file reads that
// refuse what is not a regular file.
//
// Why here: a FIFO with no writer blocks open() forever, a device such as
// /dev/zero never ends, and std::stoll/std::stoi report a bad number as the
// bare text "stoll". Each reader used to meet these on its own; these
// functions return a sentence for the caller to put after its file and field
// name, and never throw the standard library's exceptions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netc {

// A parsed number, or why not: "is \"abc\", not an integer", "is -4, below
// the minimum 0", "is 1e+30, above the maximum 2147483647".
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string why; // set when !value
};

// A whole decimal integer (an optional sign, digits, nothing else) in [lo, hi].
Parsed<int64_t> parse_integer(std::string_view text, int64_t lo, int64_t hi);
// The same for unsigned 64-bit values (seeds), [0, 2^64 - 1].
Parsed<uint64_t> parse_unsigned(std::string_view text);
// A real number (decimal or "inf"/"-inf" when allow_infinite), never NaN, in [lo, hi].
Parsed<double> parse_real(std::string_view text, double lo, double hi, bool allow_infinite = false);

// The bytes of a regular file of at most `limit` bytes, or why not ("no such
// file", "it is a FIFO (named pipe), not a regular file", "it is 3.0 GiB, more than the limit of
// 2 GiB"). The file is opened without blocking, so a FIFO is refused rather
// than waited on.
struct FileRead {
  std::optional<std::string> bytes;
  std::string why; // set when !bytes
};
FileRead read_regular_file(const std::string& path, uint64_t limit);

// "12.0 MiB", "3.5 GiB": sizes in messages.
std::string byte_size_text(uint64_t bytes);

} // namespace netc
