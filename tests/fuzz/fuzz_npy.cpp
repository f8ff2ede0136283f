// libFuzzer target: the .npy reader (runtime/npy.h, runtime/data/npy_reader.cpp). A netc::rt::Error
// is the reader's answer to bad input; anything else that escapes (another exception, a crash, a
// sanitizer report, a hang or an allocation past -rss_limit_mb) is a finding.
#include "fuzz_file.h"
#include "runtime/data/readers.h"
#include "runtime/error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = netc::fuzz::input_file(data, size, ".npy");
  try {
    netc::rt::data_detail::RawArray a = netc::rt::data_detail::read_npy_array(path);
    (void)a;
  } catch (const netc::rt::Error&) {
  }
  return 0;
}
