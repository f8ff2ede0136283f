#include "runtime/data/file_bytes.h"
#include "runtime/data/readers.h"
#include "runtime/error.h"

#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <string_view>

namespace netc::rt::data_detail {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// A finite number, the whole field; from_chars is locale-independent and exact.
bool parse_number(std::string_view s, float& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
}

// Why a field that parse_number refused is not an f32: a finite number
// beyond float's range (1e39) is not "not a number".
std::string why_not_f32(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  bool whole = !s.empty() && end == s.data() + s.size();
  if (whole && (ec == std::errc::result_out_of_range || (ec == std::errc() && std::isfinite(d))))
    return "out of the range of a 32-bit float (about +-3.4e38)";
  if (whole && ec == std::errc()) return "not a finite number";
  return "not a number";
}

// Calls f(field) for each ','-separated field of the line.
template <class F>
void for_each_field(std::string_view line, F&& f) {
  for (;;) {
    size_t comma = line.find(',');
    f(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    line.remove_prefix(comma + 1);
  }
}

int64_t count_fields(std::string_view line) {
  int64_t n = 1;
  for (char c : line) n += c == ',';
  return n;
}

} // namespace

CsvTable read_csv(const std::string& path, int64_t columns, const std::string& why) {
  std::string text = read_file_bytes(path);
  CsvTable t;
  std::string_view rest(text);
  int64_t line_no = 0;
  bool first = true;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    ++line_no;
    if (trim(line).empty()) continue;
    int64_t found = count_fields(line);
    if (columns <= 0) columns = found;
    if (found != columns)
      throw Error(fmt::format("{}:{}: expected {} columns, found {}{}", path, line_no, columns,
                              found, why.empty() ? "" : " (" + why + ")"));
    if (first) {
      first = false;
      // A header row is all names; a row mixing names and numbers is a data row
      // with a bad field, reported below.
      bool any_number = false;
      std::vector<std::string> names;
      for_each_field(line, [&](std::string_view f) {
        float v;
        any_number = any_number || parse_number(f, v);
        names.emplace_back(f);
      });
      if (!any_number) {
        t.header = std::move(names);
        continue;
      }
    }
    int64_t col = 0;
    for_each_field(line, [&](std::string_view f) {
      float v;
      if (!parse_number(f, v))
        throw Error(fmt::format(
            "{}:{}: column {} is {}, {}{}", path, line_no, col,
            f.empty() ? std::string("empty") : fmt::format("\"{}\"", f), why_not_f32(f),
            t.rows == 0 && t.header.empty() ? " (a header row must contain no numbers)" : ""));
      t.values.push_back(v);
      ++col;
    });
    t.lines.push_back(line_no);
    ++t.rows;
  }
  if (t.rows == 0) throw Error(fmt::format("{}: no data rows", path));
  t.columns = columns;
  return t;
}

} // namespace netc::rt::data_detail
