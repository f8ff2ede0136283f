#include "ir/printer.h"

#include <charconv>
#include <fmt/format.h>

namespace netc {

std::string format_double(double x) {
  // std::to_chars without a precision gives the shortest text that reads back
  // to the same double; fmt's "{}" would print 1.0 as "1", which reads back
  // as an int.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  if (ec != std::errc()) internal_error("to_chars failed on a double");
  std::string s(buf, end);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0"; // 'n': inf, nan
  return s;
}

std::string quote_string(std::string_view s, QuoteFor reader) {
  const bool dot = reader == QuoteFor::Dot;
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += dot ? "\t" : "\\t"; break;
    case '\r':
      if (!dot) out += "\\r";
      break;
    default:
      auto u = static_cast<unsigned char>(c);
      if (!dot && (u < 0x20 || u == 0x7f))
        out += fmt::format("\\x{:02x}", u);
      else
        out += c; // UTF-8 passes through unchanged
    }
  }
  return out + "\"";
}

static bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (char c : s)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

std::string format_name(std::string_view s) {
  return is_identifier(s) ? std::string(s) : quote_string(s);
}

std::string format_attr_value(const AttrValue& v) {
  struct Visitor {
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return format_double(d); }
    std::string operator()(const std::string& s) const { return quote_string(s); }
    std::string operator()(const std::vector<int64_t>& xs) const {
      return fmt::format("[{}]", fmt::join(xs, ","));
    }
    // Each element spelled as a double (1.0, not 1), so the list reads back
    // as doubles and not as integers.
    std::string operator()(const std::vector<double>& xs) const {
      std::string out = "[";
      for (size_t i = 0; i < xs.size(); ++i) out += (i ? "," : "") + format_double(xs[i]);
      return out + "]";
    }
  };
  return std::visit(Visitor{}, v);
}

static std::string format_loc(SourceLoc loc, const PrintOptions& options) {
  // Only the all-zero location is "unknown"; anything else is printed so that
  // it round-trips exactly.
  if (!options.locations || loc == SourceLoc{}) return "";
  return fmt::format(" @{}:{}", loc.line, loc.col);
}

std::string print_node(const Graph& g, ValueId v, const PrintOptions& options) {
  const Node& n = g.node(v);
  std::string line = fmt::format("%{} = {}(", v, op_name(n.op));
  for (size_t i = 0; i < n.inputs.size(); ++i)
    line += fmt::format("{}%{}", i ? ", " : "", n.inputs[i]);
  line += ")";
  if (options.attributes && !n.attrs.empty()) {
    line += " {";
    bool first = true;
    for (const auto& [name, value] : n.attrs.items()) {
      if (!first) line += ", ";
      first = false;
      line += name + "=" + format_attr_value(value);
    }
    line += "}";
  }
  line += " : " + to_string(n.type);
  line += format_loc(n.loc, options);
  return line;
}

std::string print_graph(const Graph& g, const PrintOptions& options) {
  // Empty header fields are omitted; the parser's defaults are empty too.
  std::string out;
  if (!g.name.empty()) out += "model " + format_name(g.name) + "\n";
  if (!g.source_file.empty()) out += "source " + quote_string(g.source_file) + "\n";
  for (ValueId v = 0; v < g.size(); ++v) out += print_node(g, v, options) + "\n";
  for (const NamedValue& o : g.outputs)
    out += fmt::format("output {} = %{}{}\n", format_name(o.name), o.value,
                       format_loc(o.loc, options));
  if (g.loss)
    out += fmt::format("loss {} = %{}{}\n", format_name(g.loss->name), g.loss->value,
                       format_loc(g.loss->loc, options));
  for (const NamedValue& u : g.updates)
    out += fmt::format("update {} = %{}{}\n", format_name(u.name), u.value,
                       format_loc(u.loc, options));
  if (options.train_config) out += "train " + train_config_to_json(g.train) + "\n";
  return out;
}

} // namespace netc
