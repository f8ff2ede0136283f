#include "runtime/npy.h"

#include "ir/user_input.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <regex>
#include <string_view>

namespace netc {

namespace {

template <class T>
void append_as(std::vector<double>& out, const char* bytes, size_t count) {
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, bytes + i * sizeof(T), sizeof(T));
    out.push_back(static_cast<double>(v));
  }
}

// Larger arrays are refused before any allocation is tried.
constexpr uint64_t kMaxNpyBytes = uint64_t{64} << 30;
constexpr int64_t kMaxElements = int64_t{1} << 40;

// The tuple of the header's 'shape': "(60000, 28, 28)" without the
// parentheses; "3," for a 1-d array, "" for a scalar. Every item must be a
// non-negative integer and the product at most kMaxElements: a "-4" is not
// read as 4, and a dimension past 2^63 is not handed to std::stoll.
template <class Fail>
std::vector<int64_t> parse_shape(const std::string& tuple, const Fail& fail) {
  std::vector<int64_t> shape;
  std::string_view rest(tuple);
  int64_t count = 1;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    // A trailing comma ends the tuple: "(3,)".
    if (item.empty() && rest.find_first_not_of(' ') == std::string_view::npos) break;
    // Python 2 files write long dimensions as "3L".
    if (!item.empty() && item.back() == 'L') item.remove_suffix(1);
    Parsed<int64_t> d = parse_integer(item, 0, kMaxElements);
    if (!d.value) throw fail(fmt::format("dimension {} of the shape {}", shape.size(), d.why));
    if (*d.value > 0 && count > kMaxElements / *d.value)
      throw fail(fmt::format("the shape ({}) has more than 2^40 elements", tuple));
    count *= *d.value;
    shape.push_back(*d.value);
  }
  return shape;
}

} // namespace

NpyArray read_npy(const std::string& path) {
  // A FIFO or device is refused, not waited on (ir/user_input.h).
  FileRead file = read_regular_file(path, kMaxNpyBytes);
  if (!file.bytes) throw NpyError(fmt::format("{}: {}", path, file.why));
  const std::string& bytes = *file.bytes;
  auto fail = [&](const std::string& why) -> NpyError {
    return NpyError(fmt::format("{}: not a valid .npy file: {}", path, why));
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw fail("missing the \\x93NUMPY magic");
  int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len =
        static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw fail("truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i)
      header_len |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    throw fail(fmt::format("unsupported format version {}", major));
  }
  if (bytes.size() < offset + header_len) throw fail("truncated header");
  std::string header = bytes.substr(offset, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([<|>=]?)([a-z])(\\d+)'")))
    throw fail("no dtype in the header");
  std::string order = m[1], kind = m[2];
  Parsed<int64_t> item = parse_integer(m[3].str(), 1, 16);
  if (!item.value) throw fail(fmt::format("the item size of the dtype {}", item.why));
  auto size = static_cast<int>(*item.value);
  if (order == ">") throw fail("big-endian data is not supported");
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True")))
    throw fail("Fortran-ordered arrays are not supported");
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    throw fail("no shape in the header");
  NpyArray a;
  a.shape = parse_shape(m[1].str(), fail);
  a.descr = kind + std::to_string(size);
  int64_t count = 1;
  for (int64_t d : a.shape) count *= d; // bounded by parse_shape
  size_t data_at = offset + header_len;
  size_t need = static_cast<size_t>(count) * static_cast<size_t>(size);
  if (bytes.size() - data_at < need)
    throw fail(
        fmt::format("truncated data: expected {} bytes, found {}", need, bytes.size() - data_at));
  const char* p = bytes.data() + data_at;
  auto n = static_cast<size_t>(count);
  if (kind == "f" && size == 4)
    append_as<float>(a.data, p, n);
  else if (kind == "f" && size == 8)
    append_as<double>(a.data, p, n);
  else if (kind == "i" && size == 4)
    append_as<int32_t>(a.data, p, n);
  else if (kind == "i" && size == 8)
    append_as<int64_t>(a.data, p, n);
  else if (kind == "u" && size == 1)
    append_as<uint8_t>(a.data, p, n);
  else if (kind == "b" && size == 1)
    append_as<uint8_t>(a.data, p, n);
  else
    throw fail(fmt::format("unsupported dtype {}{}", kind, size));
  return a;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape,
               const std::vector<double>& data, bool float64) {
  std::string dims;
  for (int64_t d : shape) dims += fmt::format("{},", d);
  if (shape.size() > 1) dims.pop_back();
  std::string header = fmt::format("{{'descr': '<f{}', 'fortran_order': False, 'shape': ({}), }}",
                                   float64 ? 8 : 4, dims);
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw NpyError(fmt::format("{}: cannot write the file", path));
    out.write("\x93NUMPY\x01\x00", 8);
    uint16_t len = static_cast<uint16_t>(header.size());
    char le[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    out.write(le, 2);
    out << header;
    for (double v : data) {
      if (float64) {
        out.write(reinterpret_cast<const char*>(&v), 8);
      } else {
        auto f = static_cast<float>(v);
        out.write(reinterpret_cast<const char*>(&f), 4);
      }
    }
    out.flush();
    if (!out) throw NpyError(fmt::format("{}: write failed (disk full?)", path));
  }
  std::filesystem::rename(tmp, path);
}

} // namespace netc
