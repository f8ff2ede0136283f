#include "ir/user_input.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace netc {

namespace {

// Long garbage is cut in messages: the field may be a megabyte of junk.
std::string quoted(std::string_view text) {
  if (text.size() > 40)
    return fmt::format("\"{}...\" ({} characters)", text.substr(0, 40), text.size());
  return fmt::format("\"{}\"", text);
}

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Closes the descriptor on every path out of read_regular_file.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

} // namespace

Parsed<int64_t> parse_integer(std::string_view text, int64_t lo, int64_t hi) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  bool whole = !digits.empty() && end == digits.data() + digits.size();
  if (ec == std::errc::result_out_of_range && whole) {
    bool negative = digits.front() == '-';
    return {std::nullopt,
            fmt::format("is {}, {} the {} {}", quoted(text), negative ? "below" : "above",
                        negative ? "minimum" : "maximum", negative ? lo : hi)};
  }
  if (ec != std::errc() || !whole)
    return {std::nullopt, fmt::format("is {}, not an integer", quoted(text))};
  if (v < lo) return {std::nullopt, fmt::format("is {}, below the minimum {}", v, lo)};
  if (v > hi) return {std::nullopt, fmt::format("is {}, above the maximum {}", v, hi)};
  return {v, ""};
}

Parsed<uint64_t> parse_unsigned(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  bool whole = !text.empty() && end == text.data() + text.size();
  if (ec == std::errc::result_out_of_range && whole)
    return {std::nullopt, fmt::format("is {}, above the maximum {}", quoted(text), UINT64_MAX)};
  if (ec != std::errc() || !whole)
    return {std::nullopt, fmt::format("is {}, not a non-negative integer", quoted(text))};
  return {v, ""};
}

Parsed<double> parse_real(std::string_view text, double lo, double hi, bool allow_infinite) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  bool whole = !s.empty() && end == s.data() + s.size();
  if (ec == std::errc::result_out_of_range && whole)
    return {std::nullopt, fmt::format("is {}, out of the range of a double", quoted(text))};
  if (ec != std::errc() || !whole || std::isnan(v))
    return {std::nullopt, fmt::format("is {}, not a number", quoted(text))};
  if (std::isinf(v) && allow_infinite) return {v, ""};
  if (std::isinf(v)) return {std::nullopt, fmt::format("is {}, not a finite number", quoted(text))};
  if (v < lo) return {std::nullopt, fmt::format("is {}, below the minimum {}", v, lo)};
  if (v > hi) return {std::nullopt, fmt::format("is {}, above the maximum {}", v, hi)};
  return {v, ""};
}

FileRead read_regular_file(const std::string& path, uint64_t limit) {
  // O_NONBLOCK: open() of a FIFO with no writer returns at once instead of
  // waiting for one; fstat then says what it is.
  Fd f{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT) return {std::nullopt, "no such file"};
    return {std::nullopt, fmt::format("cannot open it: {}", std::strerror(errno))};
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    return {std::nullopt, fmt::format("cannot read it: {}", std::strerror(errno))};
  if (!S_ISREG(st.st_mode))
    return {std::nullopt, fmt::format("it is {}, not a regular file", file_kind(st.st_mode))};
  auto size = static_cast<uint64_t>(st.st_size);
  if (size > limit)
    return {std::nullopt, fmt::format("it is {}, more than the limit of {}", byte_size_text(size),
                                      byte_size_text(limit))};
  std::string bytes;
  try {
    bytes.resize(static_cast<size_t>(size));
  } catch (const std::exception&) { // bad_alloc, length_error: their text means nothing to a user
    return {std::nullopt, fmt::format("it is {}, more than this machine can hold in memory",
                                      byte_size_text(size))};
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(f.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return {std::nullopt, fmt::format("cannot read it: {}", std::strerror(errno))};
    if (n == 0) break; // shrank while read: keep what is there
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return {std::move(bytes), ""};
}

std::string byte_size_text(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

} // namespace netc
