#include "frontend/frontend.h"

#include "frontend/ir_builder.h"
#include "frontend/parser.h"
#include "ir/user_input.h"

#include <cstdint>
#include <filesystem>
#include <fmt/format.h>

namespace netc {

namespace {

// Model files are small; the limit keeps a mistaken argument (a data set, a
// core dump) from being read whole.
constexpr uint64_t kMaxFileBytes = uint64_t{64} << 20;

} // namespace

Graph load_model(const std::string& path, ImportedWeights* imported_weights) {
  // A FIFO or a device is refused rather than read: a FIFO with no writer
  // would block `netc check` forever, and /dev/zero never ends.
  FileRead r = read_regular_file(path, kMaxFileBytes);
  if (!r.bytes) throw UserError(path, {}, fmt::format("cannot read the model file: {}", r.why));
  const std::string& text = *r.bytes;
  return parse_model(text, path, imported_weights);
}

Graph parse_model(std::string_view text, const std::string& filename,
                  ImportedWeights* imported_weights) {
  std::string stem = std::filesystem::path(filename).stem().string();
  Module m = parse(text, filename);
  return build_graph(m, filename, stem.empty() ? "model" : stem, imported_weights);
}

} // namespace netc
