// NumPy .npy files (format version 1.0/2.0, little-endian f4/f8/i4/i8/u1,
// C order): the exchange format for `npy:` data, exported tensors and the
// PyTorch cross-check. Errors name the file and say what was wrong.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace netc {

class NpyError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> data; // converted from the file's dtype
  std::string descr;        // the file's dtype without byte order: "f4", "u1"
};

// Reads a whole .npy file; throws NpyError on any malformed or truncated input.
NpyArray read_npy(const std::string& path);

// Writes float32 (or float64) data atomically (a temporary file, then rename).
void write_npy(const std::string& path, const std::vector<int64_t>& shape,
               const std::vector<double>& data, bool float64 = false);

} // namespace netc
