// libFuzzer target: the ONNX importer (frontend/onnx/onnx_import.h). A netc::UserError is the
// reader's answer to bad input; anything else that escapes (another exception, a crash, a sanitizer
// report, a hang or an allocation past -rss_limit_mb) is a finding.
#include "frontend/onnx/onnx_import.h"
#include "ir/error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    netc::ImportedModel m = netc::import_onnx_bytes(bytes, "fuzz.onnx");
    (void)m;
  } catch (const netc::UserError&) {
  }
  return 0;
}
