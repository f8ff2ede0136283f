// libFuzzer target: the CSV reader (runtime/data/csv_reader.cpp). A netc::rt::Error is the reader's
// answer to bad input; anything else that escapes (another exception, a crash, a sanitizer report,
// a hang or an allocation past -rss_limit_mb) is a finding.
#include "fuzz_file.h"
#include "runtime/data/readers.h"
#include "runtime/error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = netc::fuzz::input_file(data, size, ".csv");
  try {
    // Columns taken from the first row, then a fixed count as a label file has.
    netc::rt::data_detail::CsvTable t = netc::rt::data_detail::read_csv(path, 0);
    netc::rt::data_detail::CsvTable one = netc::rt::data_detail::read_csv(path, 1, "1 label");
    (void)t;
    (void)one;
  } catch (const netc::rt::Error&) {
  }
  return 0;
}
