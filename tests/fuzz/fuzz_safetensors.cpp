// libFuzzer target: the safetensors checkpoint reader and its run record
// (runtime/checkpoint.h, runtime/train/run_record.cpp). A netc::rt::Error is
// the reader's answer to bad input; anything else that escapes (another
// exception, a crash, a sanitizer report, a hang or an allocation past
// -rss_limit_mb) is a finding.
//
// A checkpoint carries a checksum over its header and data, so almost every
// mutation would stop there. Each input is therefore read twice: as it is,
// and with its checksum recomputed (when it has one), which takes the
// mutation on to the header's JSON, the tensors and the run record.
#include "fuzz_file.h"
#include "runtime/checkpoint.h"
#include "runtime/error.h"
#include "runtime/train/train.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Recomputes "netc.checksum" as runtime/checkpoint.cpp does: FNV-1a over the
// header with its 16 digits as '0', then over the bytes after the header.
bool fix_checksum(std::vector<uint8_t>& bytes) {
  if (bytes.size() < 8) return false;
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(bytes[static_cast<size_t>(i)]) << (8 * i);
  if (n > bytes.size() - 8) return false;
  std::string header(reinterpret_cast<const char*>(bytes.data()) + 8, n);
  const std::string key = "\"netc.checksum\":\"";
  size_t at = header.find(key);
  if (at == std::string::npos || at + key.size() + 16 > header.size()) return false;
  at += key.size();
  std::memset(header.data() + at, '0', 16);
  uint64_t h = netc::rt::fnv1a64(std::as_bytes(std::span<const char>(header)));
  h = netc::rt::fnv1a64(
      std::as_bytes(std::span<const uint8_t>(bytes.data() + 8 + n, bytes.size() - 8 - n)), h);
  std::string digits = fmt::format("{:016x}", h);
  std::memcpy(bytes.data() + 8 + at, digits.data(), 16);
  return true;
}

void read(const uint8_t* data, size_t size) {
  const std::string& path = netc::fuzz::input_file(data, size, ".safetensors");
  try {
    netc::rt::SafetensorsFile f = netc::rt::read_safetensors(path);
    netc::rt::RunRecord run = netc::rt::read_run_record(f, path);
    (void)run;
  } catch (const netc::rt::Error&) {
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  read(data, size);
  std::vector<uint8_t> fixed(data, data + size);
  if (fix_checksum(fixed) && std::memcmp(fixed.data(), data, size) != 0)
    read(fixed.data(), fixed.size());
  return 0;
}
