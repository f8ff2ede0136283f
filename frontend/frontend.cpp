#include "frontend/frontend.h"

#include "frontend/ir_builder.h"
#include "frontend/parser.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace netc {

namespace {

// Model files are small; a huge one is almost surely the wrong file, and
// reading it whole would only waste memory before the "not a text file" error.
constexpr std::uintmax_t kMaxFileBytes = 64 << 20;

} // namespace

Graph load_model(const std::string& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw UserError(path, {}, "cannot open the model file: no such file");
  if (std::filesystem::is_directory(status))
    throw UserError(path, {}, "cannot open the model file: it is a directory");
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxFileBytes)
    throw UserError(path, {},
                    fmt::format("the model file is too large ({} bytes; the limit is "
                                "{} MiB)",
                                size, kMaxFileBytes >> 20));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw UserError(path, {}, fmt::format("cannot open the model file: {}", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw UserError(path, {}, "cannot read the model file");
  return parse_model(text.str(), path);
}

Graph parse_model(std::string_view text, const std::string& filename) {
  std::string stem = std::filesystem::path(filename).stem().string();
  Module m = parse(text, filename);
  return build_graph(m, filename, stem.empty() ? "model" : stem);
}

} // namespace netc
