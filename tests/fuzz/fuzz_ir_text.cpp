// libFuzzer target: the IR text parser (ir/text_parser.h). A netc::UserError is the reader's answer
// to bad input; anything else that escapes (another exception, a crash, a sanitizer report, a hang
// or an allocation past -rss_limit_mb) is a finding.
#include "ir/error.h"
#include "ir/text_parser.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    netc::Graph g = netc::parse_graph_text(text, "fuzz.ir");
    (void)g;
  } catch (const netc::UserError&) {
  }
  return 0;
}
