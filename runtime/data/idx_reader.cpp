// IDX (the MNIST format, http://yann.lecun.com/exdb/mnist/): the magic number
// 00 00 TYPE NDIMS, NDIMS big-endian 32-bit sizes, then the values, big-endian.
#include "runtime/data/file_bytes.h"
#include "runtime/data/readers.h"
#include "runtime/error.h"

#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace netc::rt::data_detail {

namespace {

uint32_t be32(const std::string& b, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3]));
}

// Reads a big-endian value of type T.
template <class T>
float be_value(const char* p) {
  unsigned char raw[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) raw[i] = static_cast<unsigned char>(p[sizeof(T) - 1 - i]);
  T v;
  std::memcpy(&v, raw, sizeof(T));
  return static_cast<float>(v);
}

template <class T>
void convert(const char* p, size_t n, std::vector<float>& out) {
  out.resize(n);
  for (size_t i = 0; i < n; ++i) out[i] = be_value<T>(p + i * sizeof(T));
}

struct IdxType {
  const char* name;
  size_t size;
};

bool idx_type(uint8_t code, IdxType& t) {
  switch (code) {
  case 0x08: t = {"uint8", 1}; return true;
  case 0x09: t = {"int8", 1}; return true;
  case 0x0B: t = {"int16", 2}; return true;
  case 0x0C: t = {"int32", 4}; return true;
  case 0x0D: t = {"float32", 4}; return true;
  case 0x0E: t = {"float64", 8}; return true;
  default: return false;
  }
}

} // namespace

RawArray read_idx(const std::string& path) {
  static_assert(std::endian::native == std::endian::little,
                "IDX conversion assumes a little-endian host");
  std::string b = read_file_bytes(path);
  if (b.size() < 4)
    throw Error(fmt::format("{}: truncated IDX file: {} bytes, not even the 4-byte magic number",
                            path, b.size()));
  uint32_t magic = be32(b, 0);
  uint8_t code = static_cast<uint8_t>(b[2]);
  size_t ndims = static_cast<uint8_t>(b[3]);
  IdxType type{};
  if (b[0] != 0 || b[1] != 0 || !idx_type(code, type) || ndims == 0)
    throw Error(fmt::format(
        "{}: not an IDX file: wrong magic number 0x{:08x} (expected 00 00, a type code 08, 09, 0B, "
        "0C, 0D or 0E, and the number of dimensions, as in 0x00000803 for uint8 images)",
        path, magic));
  size_t header = 4 + 4 * ndims;
  if (b.size() < header)
    throw Error(fmt::format("{}: truncated IDX file: the header needs {} bytes, found {}", path,
                            header, b.size()));
  RawArray a;
  size_t count = 1;
  for (size_t d = 0; d < ndims; ++d) {
    uint32_t n = be32(b, 4 + 4 * d);
    // An empty dimension is a broken header, not a data set: say which one.
    if (n == 0)
      throw Error(fmt::format("{}: IDX header: dimension {} (bytes {}..{}) is 0; every dimension "
                              "of a data set must be at least 1",
                              path, d, 4 + 4 * d, 7 + 4 * d));
    a.shape.push_back(n);
    if (count > (size_t(1) << 40) / n)
      throw Error(
          fmt::format("{}: IDX dimensions {} are implausibly large", path, shape_text(a.shape)));
    count *= n;
  }
  size_t need = count * type.size, found = b.size() - header;
  if (found < need) {
    size_t per_example = need / static_cast<size_t>(a.shape[0]);
    size_t complete = per_example ? found / per_example : 0;
    throw Error(fmt::format(
        "{}: truncated IDX file: the header promises {} {} values ({} bytes of data, {} "
        "examples), found {} bytes ({} complete example{})",
        path, shape_text(a.shape), type.name, need, a.shape[0], found, complete,
        complete == 1 ? "" : "s"));
  }
  if (found > need)
    throw Error(fmt::format("{}: {} unexpected bytes after the {} {} values of its header", path,
                            found - need, shape_text(a.shape), type.name));
  const char* p = b.data() + header;
  switch (code) {
  case 0x08:
    a.values.resize(count);
    for (size_t i = 0; i < count; ++i) a.values[i] = static_cast<uint8_t>(p[i]);
    a.bytes = true;
    break;
  case 0x09: convert<int8_t>(p, count, a.values); break;
  case 0x0B: convert<int16_t>(p, count, a.values); break;
  case 0x0C: convert<int32_t>(p, count, a.values); break;
  case 0x0D: convert<float>(p, count, a.values); break;
  default: convert<double>(p, count, a.values); break;
  }
  return a;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

} // namespace netc::rt::data_detail
