#include "runtime/data/data_spec.h"

#include "runtime/error.h"

#include <filesystem>
#include <fmt/format.h>

namespace netc::rt {

namespace {

constexpr const char* kForms = "fashion-mnist, idx:IMAGES,LABELS, csv:PATH[:label=COL] or npy:X,Y";

std::string resolve(const std::string& path, const std::string& data_dir) {
  if (data_dir.empty() || path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(data_dir) / path).string();
}

} // namespace

DataSpec parse_data_spec(const std::string& spec, const std::string& data_dir) {
  DataSpec s;
  s.text = spec;
  if (spec == "fashion-mnist") {
    s.kind = DataKind::fashion_mnist;
    s.files = {data_dir.empty() ? std::string(kFashionMnistDir) : data_dir};
    return s;
  }
  size_t colon = spec.find(':');
  std::string kind = colon == std::string::npos ? spec : spec.substr(0, colon);
  std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "idx" || kind == "npy") {
    s.kind = kind == "idx" ? DataKind::idx : DataKind::npy;
    size_t comma = rest.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == rest.size() ||
        rest.find(',', comma + 1) != std::string::npos)
      throw Error(fmt::format("data spec \"{}\" needs two files separated by one ',' ({})", spec,
                              kind == "idx" ? "idx:IMAGES,LABELS" : "npy:X,Y"));
    s.files = {resolve(rest.substr(0, comma), data_dir), resolve(rest.substr(comma + 1), data_dir)};
    return s;
  }
  if (kind == "csv") {
    s.kind = DataKind::csv;
    // The path may itself contain ':'; only a trailing ":label=COL" is an option.
    size_t opt = rest.rfind(":label=");
    std::string path = rest;
    if (opt != std::string::npos) {
      path = rest.substr(0, opt);
      s.label_column = rest.substr(opt + 7);
      if (s.label_column.empty())
        throw Error(
            fmt::format("data spec \"{}\": label= needs a column (csv:PATH:label=COL)", spec));
    }
    if (path.empty())
      throw Error(fmt::format("data spec \"{}\" needs a file (csv:PATH[:label=COL])", spec));
    s.files = {resolve(path, data_dir)};
    return s;
  }
  throw Error(fmt::format("unknown data spec \"{}\"; expected {}", spec, kForms));
}

} // namespace netc::rt
