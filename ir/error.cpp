#include "ir/error.h"

#include <algorithm>
#include <fmt/format.h>

namespace netc {

std::string Diagnostic::format() const {
  std::string where = file.empty() ? std::string("<input>") : file;
  if (loc.line > 0) where += fmt::format(":{}", loc.line);
  if (loc.line > 0 && loc.col > 0) where += fmt::format(":{}", loc.col);
  return fmt::format("{}: {}: {}", where, is_note ? "note" : "error", message);
}

static std::string join_diagnostics(const std::vector<Diagnostic>& diags) {
  std::string text;
  for (const auto& d : diags) {
    if (!text.empty()) text += "\n";
    text += d.format();
  }
  return text;
}

UserError::UserError(std::vector<Diagnostic> diags)
    : diags_(std::move(diags)), text_(join_diagnostics(diags_)) {}

UserError::UserError(std::string file, SourceLoc loc, std::string message)
    : UserError(std::vector<Diagnostic>{{std::move(file), loc, std::move(message)}}) {}

void internal_error(const std::string& message, std::source_location loc) {
  throw InternalError(
      fmt::format("internal compiler error: {} (at {}:{})", message, loc.file_name(), loc.line()));
}

// Edit distance where swapping two neighbouring letters counts as one edit
// (optimal string alignment), the commonest typo: "rleu" is one edit from "relu".
static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  // Allow about one typo per three characters, and at least one.
  size_t limit = std::max<size_t>(1, word.size() / 3);
  return best_d <= limit ? best : std::string();
}

} // namespace netc
