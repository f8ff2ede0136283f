#include "ir/text_parser.h"

#include "ir/op_registry.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <limits>

namespace netc {

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A cursor over one line of IR text. Every error names the line and the
// column of what it could not read, and says what was expected there.
class LineParser {
public:
  LineParser(std::string_view line, int line_no, const std::string& file)
      : s_(line), line_no_(line_no), file_(file) {}

  SourceLoc here() const { return {line_no_, static_cast<int>(pos_) + 1}; }

  [[noreturn]] void fail(SourceLoc at, const std::string& message) const {
    throw UserError(file_, at, message);
  }
  [[noreturn]] void expected(const std::string& what) {
    skip_ws();
    fail(here(), fmt::format("expected {}, found {}", what, describe_next()));
  }

  // Spaces and tabs; a '#' starts a comment that runs to the end of the line.
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '#') pos_ = s_.size();
  }
  bool at_end() {
    skip_ws();
    return pos_ == s_.size();
  }
  char peek() {
    skip_ws();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  bool accept(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) expected(fmt::format("'{}'", c));
  }
  void expect_end() {
    if (!at_end()) expected("the end of the line");
  }

  std::string ident(const std::string& what) {
    skip_ws();
    if (pos_ >= s_.size() || !is_alpha(s_[pos_])) expected(what);
    size_t start = pos_;
    while (pos_ < s_.size() && (is_alpha(s_[pos_]) || is_digit(s_[pos_]))) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  std::string string_lit() {
    if (peek() != '"') expected("a quoted string");
    SourceLoc start = here();
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail(start, "unterminated string (a string ends on its own line)");
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail(start, "unterminated string (a string ends on its own line)");
      SourceLoc esc{line_no_, static_cast<int>(pos_)};
      char e = s_[pos_++];
      // The escapes quote_string (ir/printer.h) writes.
      constexpr std::string_view kEscapes = "\"\\ntr", kMeanings = "\"\\\n\t\r";
      if (size_t k = kEscapes.find(e); k != std::string_view::npos) {
        out += kMeanings[k];
        continue;
      }
      if (e != 'x') fail(esc, fmt::format("unknown escape '\\{}' in string", e));
      unsigned v = 0;
      auto [p, ec] =
          std::from_chars(s_.data() + pos_, s_.data() + std::min(pos_ + 2, s_.size()), v, 16);
      if (ec != std::errc() || p != s_.data() + pos_ + 2)
        fail(esc, "expected two hex digits after \\x");
      pos_ += 2;
      out += static_cast<char>(v);
    }
  }

  // A name after `model`, `output` or `loss`: an identifier or a quoted string.
  std::string name(const std::string& what) { return peek() == '"' ? string_lit() : ident(what); }

  int64_t integer(const std::string& what) {
    skip_ws();
    SourceLoc at = here();
    std::string_view tok = number_token();
    if (tok.empty()) expected(what);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec == std::errc::result_out_of_range)
      fail(at, fmt::format("integer {} is out of range", tok));
    if (ec != std::errc() || p != tok.data() + tok.size())
      fail(at, fmt::format("expected {}, found '{}'", what, tok));
    return v;
  }

  // An int or a double: a '.', an exponent, inf or nan makes it a double.
  AttrValue number() {
    skip_ws();
    SourceLoc at = here();
    std::string_view tok = number_token();
    std::string_view unsigned_tok = tok.substr(tok.starts_with('-') ? 1 : 0);
    bool word = !unsigned_tok.empty() && is_alpha(unsigned_tok[0]);
    if (tok.empty() || (word && unsigned_tok != "inf" && unsigned_tok != "nan")) {
      pos_ = static_cast<size_t>(at.col - 1);
      expected("an attribute value (a number, a \"string\" or a [list])");
    }
    if (tok.find_first_of(".eEin") == std::string_view::npos) {
      pos_ -= tok.size();
      return integer("an integer");
    }
    double d = 0;
    auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), d);
    if (ec != std::errc() || p != tok.data() + tok.size())
      fail(at, fmt::format("malformed number '{}'", tok));
    return d;
  }

  // A list of integers, or of doubles when any element is spelled as one
  // ([1.0,0.5]: class weights); the printer spells every element of a double
  // list as a double, so each kind reads back as itself.
  AttrValue attr_value() {
    if (peek() == '"') return string_lit();
    if (!accept('[')) return number();
    std::vector<AttrValue> items;
    if (accept(']')) return std::vector<int64_t>{};
    do items.push_back(list_number());
    while (accept(','));
    expect(']');
    bool all_ints = std::all_of(items.begin(), items.end(), [](const AttrValue& v) {
      return std::holds_alternative<int64_t>(v);
    });
    if (all_ints) {
      std::vector<int64_t> xs;
      for (const AttrValue& v : items) xs.push_back(std::get<int64_t>(v));
      return xs;
    }
    std::vector<double> xs;
    for (const AttrValue& v : items)
      xs.push_back(std::holds_alternative<int64_t>(v) ? double(std::get<int64_t>(v))
                                                      : std::get<double>(v));
    return xs;
  }

  // A list element: a number, not a string or a nested list.
  AttrValue list_number() {
    skip_ws();
    if (peek() == '"' || peek() == '[') expected("a number (lists hold numbers only)");
    return number();
  }

  // %N, which must name a node already defined (of the `defined` so far).
  ValueId value_ref(int defined) {
    if (peek() != '%') expected("a value (%N)");
    SourceLoc at = here();
    ++pos_;
    if (pos_ >= s_.size() || !is_digit(s_[pos_])) fail(at, "expected a value number after '%'");
    int64_t v = integer("a value number");
    if (v >= defined)
      fail(at, fmt::format("%{} is used before it is defined (the last defined value is {})", v,
                           defined ? fmt::format("%{}", defined - 1) : std::string("none")));
    return static_cast<ValueId>(v);
  }

  TensorType type() {
    skip_ws();
    SourceLoc at = here();
    std::string dt = ident("a tensor type (f32[...])");
    auto dtype = dtype_from_name(dt);
    if (!dtype) {
      std::string hint = closest_match(dt, {"f32", "f64", "i32", "i64"});
      fail(at, fmt::format("unknown element type '{}'{}; expected f32, f64, i32 or i64", dt,
                           hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
    }
    SourceLoc shape_at = (skip_ws(), here());
    expect('[');
    std::vector<int64_t> dims;
    if (!accept(']')) {
      do {
        if (is_alpha(peek())) {
          std::string word = ident("a dimension");
          if (word != "batch")
            fail({line_no_, static_cast<int>(pos_ - word.size()) + 1},
                 fmt::format("expected a dimension (a positive integer or 'batch'), found '{}'",
                             word));
          dims.push_back(kBatch);
        } else {
          dims.push_back(integer("a dimension (a positive integer or 'batch')"));
        }
      } while (accept(','));
      expect(']');
    }
    try {
      return TensorType{*dtype, checked_shape(std::move(dims))};
    } catch (const ShapeError& e) {
      fail(shape_at, e.what());
    }
  }

  // An optional "@LINE:COL" suffix: the node's position in the model file.
  SourceLoc loc_suffix() {
    if (!accept('@')) return {};
    SourceLoc loc;
    loc.line = static_cast<int>(checked_int(integer("a line number"), "line number"));
    expect(':');
    loc.col = static_cast<int>(checked_int(integer("a column number"), "column number"));
    return loc;
  }

  // The rest of the line, trimmed (the train line's JSON).
  std::string_view rest() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    std::string_view r = s_.substr(pos_);
    while (!r.empty() && (r.back() == ' ' || r.back() == '\t')) r.remove_suffix(1);
    return r;
  }

private:
  // The longest run that could be a number: -12, 0.5, 1e-08, -inf, nan.
  std::string_view number_token() {
    size_t start = pos_, i = pos_;
    if (i < s_.size() && s_[i] == '-') ++i;
    if (i < s_.size() && is_alpha(s_[i])) {
      while (i < s_.size() && is_alpha(s_[i])) ++i;
    } else {
      while (i < s_.size()) {
        char c = s_[i];
        bool sign_after_exp =
            (c == '+' || c == '-') && i > start && (s_[i - 1] == 'e' || s_[i - 1] == 'E');
        if (!is_digit(c) && c != '.' && c != 'e' && c != 'E' && !sign_after_exp) break;
        ++i;
      }
    }
    if (i == start || (i == start + 1 && s_[start] == '-')) return {};
    pos_ = i;
    return s_.substr(start, i - start);
  }

  int64_t checked_int(int64_t v, const char* what) const {
    if (v < 0 || v > std::numeric_limits<int>::max())
      fail(here(), fmt::format("{} {} is out of range", what, v));
    return v;
  }

  // The token at the cursor, for "expected X, found Y".
  std::string describe_next() const {
    if (pos_ >= s_.size()) return "the end of the line";
    size_t i = pos_;
    auto word = [](char c) { return is_alpha(c) || is_digit(c) || c == '%' || c == '.'; };
    while (i < s_.size() && word(s_[i])) ++i;
    if (i == pos_) ++i;
    return fmt::format("'{}'", s_.substr(pos_, i - pos_));
  }

  std::string_view s_;
  size_t pos_ = 0;
  int line_no_;
  const std::string& file_;
};

std::vector<std::string> op_mnemonics() {
  std::vector<std::string> names;
  for (int i = 0; i < kNumOps; ++i) names.emplace_back(op_name(static_cast<OpKind>(i)));
  return names;
}

// The whole text: header lines, nodes, outputs, loss and train config. Each
// header line may appear once; the first occurrence's line is kept for the
// "duplicate" message.
class GraphParser {
public:
  explicit GraphParser(const std::string& file) : file_(file), builder_(g_) {}

  Graph parse(std::string_view text) {
    int line_no = 0;
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      LineParser p(line, ++line_no, file_);
      parse_line(p);
    }
    return std::move(g_);
  }

private:
  void parse_line(LineParser& p) {
    if (p.at_end()) return;
    if (p.peek() == '%') return parse_node(p);
    SourceLoc at = p.here();
    std::string kw = p.ident(
        "a node (%N = op(...) : type) or one of model, source, output, loss, update, train");
    if (kw == "model") {
      once(seen_model_, at, kw);
      g_.name = p.name("a model name");
    } else if (kw == "source") {
      once(seen_source_, at, kw);
      g_.source_file = p.string_lit();
    } else if (kw == "output") {
      g_.outputs.push_back(named_value(p, "an output name"));
    } else if (kw == "update") {
      g_.updates.push_back(named_value(p, "the name of the param or state it updates"));
    } else if (kw == "loss") {
      once(seen_loss_, at, kw);
      g_.loss = named_value(p, "a loss name");
    } else if (kw == "train") {
      once(seen_train_, at, kw);
      std::string json(p.rest());
      SourceLoc json_at = p.here(); // rest() stops at the JSON's first character
      try {
        g_.train = train_config_from_json(json);
      } catch (const ShapeError& e) {
        p.fail(json_at, e.what());
      }
      return; // the JSON is the rest of the line
    } else {
      std::string hint =
          closest_match(kw, {"model", "source", "output", "loss", "update", "train"});
      p.fail(at, fmt::format("expected a node (%N = op(...) : type) or one of model, source, "
                             "output, loss, update, train, found '{}'{}",
                             kw, hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
    }
    p.expect_end();
  }

  void once(int& seen_line, SourceLoc at, const std::string& kw) {
    if (seen_line)
      throw UserError(file_, at,
                      fmt::format("duplicate '{}' line (the first is on line {})", kw, seen_line));
    seen_line = at.line;
  }

  NamedValue named_value(LineParser& p, const std::string& what) {
    NamedValue nv;
    nv.name = p.name(what);
    p.expect('=');
    nv.value = p.value_ref(g_.size());
    nv.loc = p.loc_suffix();
    return nv;
  }

  // %N = op(%a, %b) {k=v, ...} : type @LINE:COL
  void parse_node(LineParser& p) {
    SourceLoc id_at = p.here();
    p.expect('%');
    int64_t id = p.integer("a value number");
    if (id != g_.size())
      p.fail(id_at,
             fmt::format("expected %{} (nodes are numbered consecutively from %0), found %{}",
                         g_.size(), id));
    p.expect('=');
    SourceLoc op_at = (p.skip_ws(), p.here());
    std::string mnemonic = p.ident("an op name");
    std::optional<OpKind> kind = op_from_name(mnemonic);
    if (!kind) {
      std::string hint = closest_match(mnemonic, op_mnemonics());
      p.fail(op_at, fmt::format("unknown op '{}'{}", mnemonic,
                                hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
    }
    p.expect('(');
    std::vector<ValueId> inputs;
    if (!p.accept(')')) {
      do inputs.push_back(p.value_ref(g_.size()));
      while (p.accept(','));
      p.expect(')');
    }
    Attrs attrs = parse_attrs(p);
    p.expect(':');
    SourceLoc type_at = (p.skip_ws(), p.here());
    TensorType type = p.type();
    SourceLoc loc = p.loc_suffix();
    p.expect_end();

    if (!op_def(*kind).shape) {
      if (!inputs.empty())
        p.fail(op_at, fmt::format("'{}' is a leaf and takes no inputs, found {}", mnemonic,
                                  inputs.size()));
      builder_.leaf(*kind, std::move(type), std::move(attrs), loc);
      return;
    }
    try {
      builder_.op(*kind, std::move(inputs), std::move(attrs), loc);
    } catch (const UserError& e) {
      // The builder locates its errors in the model file; here the text is at fault.
      p.fail(op_at, e.diagnostics().front().message);
    }
    const TensorType& inferred = g_.nodes.back().type;
    if (inferred != type)
      p.fail(type_at, fmt::format("type mismatch for %{} ('{}'): expected {} (from its shape "
                                  "rule), found {}",
                                  id, mnemonic, to_string(inferred), to_string(type)));
  }

  Attrs parse_attrs(LineParser& p) {
    Attrs attrs;
    if (!p.accept('{') || p.accept('}')) return attrs;
    do {
      SourceLoc at = (p.skip_ws(), p.here());
      std::string name = p.ident("an attribute name");
      if (attrs.has(name)) p.fail(at, fmt::format("duplicate attribute '{}'", name));
      p.expect('=');
      attrs.set(name, p.attr_value());
    } while (p.accept(','));
    p.expect('}');
    return attrs;
  }

  const std::string& file_;
  Graph g_;
  GraphBuilder builder_;
  int seen_model_ = 0, seen_source_ = 0, seen_loss_ = 0, seen_train_ = 0;
};

} // namespace

Graph parse_graph_text(std::string_view text, const std::string& filename) {
  return GraphParser(filename).parse(text);
}

} // namespace netc
