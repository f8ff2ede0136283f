#include "runtime/data/file_bytes.h"

#include "ir/user_input.h"
#include "runtime/error.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <new>
#include <stdexcept>
#include <zlib.h>

namespace netc::rt {

namespace {

// Data sets are read whole; past this, a path is more likely a mistake.
constexpr uint64_t kMaxDataFileBytes = uint64_t{64} << 30;

bool is_gzip(const std::string& bytes, size_t at) {
  return bytes.size() >= at + 2 && static_cast<uint8_t>(bytes[at]) == 0x1f &&
         static_cast<uint8_t>(bytes[at + 1]) == 0x8b;
}

// RAII for a zlib inflate stream.
class Inflater {
public:
  explicit Inflater(const std::string& path) {
    // 16 + MAX_WBITS: expect a gzip wrapper (header and CRC-checked trailer).
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK)
      throw Error(fmt::format("{}: cannot start gzip decompression", path));
  }
  ~Inflater() { inflateEnd(&z_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  z_stream* operator->() { return &z_; }
  z_stream* get() { return &z_; }

private:
  z_stream z_{};
};

std::string gunzip(const std::string& path, const std::string& in) {
  // The trailer's ISIZE (the size mod 2^32) is a good first guess, but a truncated
  // file's last bytes are not a trailer: cap the guess, and grow by doubling past it.
  size_t guess = in.size() * 4;
  if (in.size() >= 18) {
    uint32_t isize = 0;
    for (int i = 0; i < 4; ++i)
      isize |= static_cast<uint32_t>(static_cast<uint8_t>(in[in.size() - 4 + i])) << (8 * i);
    guess = std::min<size_t>(isize, in.size() * 16);
  }
  std::string out(std::max<size_t>(guess, 1024), '\0');
  size_t produced = 0, consumed = 0;
  Inflater z(path);
  for (;;) {
    if (produced == out.size()) out.resize(out.size() * 2);
    // zlib counts in 32-bit uInt: feed and drain at most 1 GiB at a time.
    size_t in_now = std::min<size_t>(in.size() - consumed, size_t(1) << 30);
    size_t out_now = std::min<size_t>(out.size() - produced, size_t(1) << 30);
    z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + consumed));
    z->avail_in = static_cast<uInt>(in_now);
    z->next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z->avail_out = static_cast<uInt>(out_now);
    int rc = inflate(z.get(), Z_NO_FLUSH);
    consumed += in_now - z->avail_in;
    produced += out_now - z->avail_out;
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members decompress to the concatenation.
      if (!is_gzip(in, consumed)) break;
      inflateReset(z.get());
      continue;
    }
    if (rc == Z_BUF_ERROR && consumed == in.size())
      throw Error(fmt::format(
          "{}: truncated gzip file: the compressed data ends after {} bytes without its end "
          "marker ({} bytes decompressed)",
          path, in.size(), produced));
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      throw Error(fmt::format("{}: corrupt gzip data near compressed byte {}: {}", path, consumed,
                              z->msg ? z->msg : "inflate failed"));
  }
  out.resize(produced);
  return out;
}

} // namespace

void require_file(const std::string& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw Error(fmt::format("{}: no such file", path));
  if (std::filesystem::is_directory(status))
    throw Error(fmt::format("{}: is a directory, not a data file", path));
  // A FIFO would block the read, a device never end.
  if (!std::filesystem::is_regular_file(status))
    throw Error(
        fmt::format("{}: is not a regular file (a FIFO, device or socket), not a data file", path));
}

std::string read_file_bytes(const std::string& path) {
  require_file(path);
  FileRead r = read_regular_file(path, kMaxDataFileBytes);
  if (!r.bytes) throw Error(fmt::format("{}: {}", path, r.why));
  if (!is_gzip(*r.bytes, 0)) return std::move(*r.bytes);
  try {
    return gunzip(path, *r.bytes);
  } catch (const std::length_error&) { // a gzip bomb, or a data set larger than memory
    throw Error(fmt::format("{}: decompresses to more than this machine can hold in memory", path));
  } catch (const std::bad_alloc&) {
    throw Error(fmt::format("{}: decompresses to more than this machine can hold in memory", path));
  }
}

} // namespace netc::rt
