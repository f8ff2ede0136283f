#include "runtime/data/file_bytes.h"
#include "runtime/data/readers.h"
#include "runtime/error.h"
#include "runtime/npy.h"

namespace netc::rt::data_detail {

RawArray read_npy_array(const std::string& path) {
  require_file(path);
  NpyArray a;
  try {
    a = read_npy(path);
  } catch (const NpyError& e) {
    throw Error(e.what()); // already "PATH: what is wrong"
  }
  if (a.shape.empty())
    throw Error(path + ": holds a single number; expected an array with one row per example");
  RawArray r;
  r.shape = std::move(a.shape);
  r.values.assign(a.data.begin(), a.data.end());
  r.bytes = a.descr == "u1"; // pixels, scaled as features
  return r;
}

} // namespace netc::rt::data_detail
