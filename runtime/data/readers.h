// The file-format readers behind load_data (internal to runtime/data/): each
// returns the file's numbers as floats with their shape, and throws Error
// naming the file on anything malformed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace netc::rt::data_detail {

struct RawArray {
  std::vector<int64_t> shape; // shape[0] counts the examples
  std::vector<float> values;  // row-major, converted from the file's type
  bool bytes = false;         // unsigned 8-bit in the file: pixels, scaled by 1/255 as features
};

// An IDX file (gzipped or raw): big-endian header, then uint8/int8/int16/int32/f32/f64 data.
RawArray read_idx(const std::string& path);

// A .npy file (runtime/npy.h), keeping whether it held uint8 data.
RawArray read_npy_array(const std::string& path);

struct CsvTable {
  int64_t rows = 0, columns = 0;
  std::vector<float> values;       // [rows, columns]
  std::vector<int64_t> lines;      // the 1-based file line of each row, for messages
  std::vector<std::string> header; // the header row's names, or empty
};

// A numeric CSV (',' separated, an optional header row of non-numbers). Every row must
// have `columns` fields (when > 0), else as many as the first row; `why` explains the
// expected count in the message ("784 for the input x, 1 for the labels").
CsvTable read_csv(const std::string& path, int64_t columns, const std::string& why = "");

// "[60000, 28, 28]"
std::string shape_text(const std::vector<int64_t>& shape);

} // namespace netc::rt::data_detail
