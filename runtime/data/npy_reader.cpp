#include "runtime/data/file_bytes.h"
#include "runtime/data/readers.h"
#include "runtime/error.h"
#include "runtime/npy.h"

#include <fstream>
#include <regex>

namespace netc::rt::data_detail {

namespace {

// read_npy converts every dtype to double; the dtype itself decides whether X
// holds pixels to scale, so peek at the header (the first few hundred bytes).
bool npy_is_uint8(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string head(4096, '\0');
  f.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(f.gcount()));
  return std::regex_search(head, std::regex("'descr':\\s*'[<|>=]?u1'"));
}

} // namespace

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
  r.bytes = npy_is_uint8(path);
  return r;
}

} // namespace netc::rt::data_detail
