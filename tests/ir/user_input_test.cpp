// The shared readers' helpers (ir/user_input.h): numbers with a range check
// and a sentence saying why not, and whole-file reads that refuse what is not
// a regular file instead of blocking on it.
#include "ir/user_input.h"

#include <cmath>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace netc;

TEST_CASE("parse_integer: whole decimal integers within the bounds, else a reason") {
  CHECK(parse_integer("42", 0, 100).value == 42);
  CHECK(parse_integer("+7", 0, 100).value == 7);
  CHECK(parse_integer("-3", -5, 5).value == -3);
  CHECK(parse_integer("-4", 0, 100).why == "is -4, below the minimum 0");
  CHECK(parse_integer("0", 1, 100).why == "is 0, below the minimum 1");
  CHECK(parse_integer("101", 0, 100).why == "is 101, above the maximum 100");
  CHECK(parse_integer("99999999999999999999", 0, 100).why ==
        "is \"99999999999999999999\", above the maximum 100");
  CHECK(parse_integer("-99999999999999999999", 0, 100).why ==
        "is \"-99999999999999999999\", below the minimum 0");
  CHECK(parse_integer("abc", 0, 100).why == "is \"abc\", not an integer");
  CHECK(parse_integer("", 0, 100).why == "is \"\", not an integer");
  CHECK(parse_integer("12x", 0, 100).why == "is \"12x\", not an integer");
  CHECK(parse_integer("1.5", 0, 100).why == "is \"1.5\", not an integer");
  CHECK(parse_integer(" 3", 0, 100).why == "is \" 3\", not an integer");
  std::string junk(1000, 'z');
  CHECK(parse_integer(junk, 0, 1).why.find("(1000 characters)") != std::string::npos);
}

TEST_CASE("parse_unsigned and parse_real") {
  CHECK(parse_unsigned("18446744073709551615").value == UINT64_MAX);
  CHECK(parse_unsigned("18446744073709551616").why ==
        "is \"18446744073709551616\", above the maximum 18446744073709551615");
  CHECK(parse_unsigned("-1").why == "is \"-1\", not a non-negative integer");
  CHECK(parse_real("0.001", 0, 1).value == 0.001);
  CHECK(parse_real("nan", 0, 1).why == "is \"nan\", not a number");
  CHECK(parse_real("inf", 0, 1).why == "is \"inf\", not a finite number");
  CHECK(parse_real("inf", 0, 1, true).value == HUGE_VAL);
  CHECK(parse_real("-0.5", 0, 1).why == "is -0.5, below the minimum 0");
  CHECK(parse_real("1e999", 0, 1).why == "is \"1e999\", out of the range of a double");
  CHECK(parse_real("0x10", 0, 100).why == "is \"0x10\", not a number");
}

TEST_CASE("read_regular_file refuses a FIFO, a directory and a device without blocking") {
  auto dir =
      std::filesystem::temp_directory_path() / ("netc-user-input-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string fifo = (dir / "fifo").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // A FIFO with no writer: a blocking open() would wait forever here.
  FileRead r = read_regular_file(fifo, 1000);
  CHECK_FALSE(r.bytes);
  CHECK(r.why == "it is a FIFO (named pipe), not a regular file");
  CHECK(read_regular_file(dir.string(), 1000).why == "it is a directory, not a regular file");
  CHECK(read_regular_file("/dev/zero", 1000).why == "it is a character device, not a regular file");
  CHECK(read_regular_file((dir / "none").string(), 1000).why == "no such file");
  std::string file = (dir / "f").string();
  std::ofstream(file) << "hello";
  CHECK(read_regular_file(file, 1000).bytes == "hello");
  CHECK(read_regular_file(file, 4).why == "it is 5 bytes, more than the limit of 4 bytes");
  std::filesystem::remove_all(dir);
}

TEST_CASE("byte_size_text") {
  CHECK(byte_size_text(5) == "5 bytes");
  CHECK(byte_size_text(64ull << 20) == "64.0 MiB");
  CHECK(byte_size_text(3ull << 29) == "1.5 GiB");
}
