#include "frontend/frontend.h"

#include "frontend/ir_builder.h"
#include "frontend/parser.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

namespace netc {

namespace {

// Model files are small. The read is bounded rather than sized up front, so
// that a pipe works and a device such as /dev/zero fails instead of hanging.
constexpr size_t kMaxFileBytes = size_t{64} << 20;

} // namespace

Graph load_model(const std::string& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw UserError(path, {}, "cannot open the model file: no such file");
  if (std::filesystem::is_directory(status))
    throw UserError(path, {}, "cannot open the model file: it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw UserError(path, {}, fmt::format("cannot open the model file: {}", std::strerror(errno)));
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes)
      throw UserError(
          path, {},
          fmt::format("the model file is too large (the limit is {} MiB)", kMaxFileBytes >> 20));
  }
  if (in.bad()) throw UserError(path, {}, "cannot read the model file");
  return parse_model(text, path);
}

Graph parse_model(std::string_view text, const std::string& filename) {
  std::string stem = std::filesystem::path(filename).stem().string();
  Module m = parse(text, filename);
  return build_graph(m, filename, stem.empty() ? "model" : stem);
}

} // namespace netc
