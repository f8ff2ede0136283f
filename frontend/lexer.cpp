#include "frontend/lexer.h"

#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

namespace netc {

std::string describe(Tok kind) {
  switch (kind) {
  case Tok::Ident: return "a name";
  case Tok::Int: return "an integer";
  case Tok::Float: return "a number";
  case Tok::String: return "a string";
  case Tok::LParen: return "'('";
  case Tok::RParen: return "')'";
  case Tok::LBracket: return "'['";
  case Tok::RBracket: return "']'";
  case Tok::LBrace: return "'{'";
  case Tok::RBrace: return "'}'";
  case Tok::Comma: return "','";
  case Tok::Colon: return "':'";
  case Tok::Equals: return "'='";
  case Tok::Plus: return "'+'";
  case Tok::Minus: return "'-'";
  case Tok::Star: return "'*'";
  case Tok::Slash: return "'/'";
  case Tok::Newline: return "end of line";
  case Tok::End: return "end of file";
  }
  return "?";
}

std::string describe(const Token& t) {
  switch (t.kind) {
  case Tok::Ident:
  case Tok::Int:
  case Tok::Float: return "'" + t.text + "'";
  case Tok::String: return "string \"" + t.text + "\"";
  default: return describe(t.kind);
  }
}

namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Walks the text keeping line and column, counting columns in code points
// (what an editor shows) rather than bytes.
struct Cursor {
  std::string_view text;
  size_t pos = 0;
  SourceLoc loc{1, 1};

  bool done() const { return pos >= text.size(); }
  char peek(size_t ahead = 0) const { return pos + ahead < text.size() ? text[pos + ahead] : '\0'; }
  void advance() {
    char c = text[pos++];
    if (c == '\n') {
      ++loc.line;
      loc.col = 1;
    } else if (done() || !is_continuation(static_cast<unsigned char>(text[pos]))) {
      ++loc.col;
    }
  }
};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// The length of the UTF-8 sequence starting at text[i], or 0 if it is not one.
// Rejects overlong forms, surrogates and code points past U+10FFFF.
size_t utf8_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) -> unsigned { return static_cast<unsigned char>(text[k]); };
  unsigned c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned lo = 0x80, hi = 0xBF; // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (!is_continuation(static_cast<unsigned char>(text[i + k]))) return 0;
  return n;
}

class Lexer {
public:
  Lexer(std::string_view text, const std::string& file) : file_(file) { cur_.text = text; }

  std::vector<Token> run() {
    // A UTF-8 byte order mark is not part of the program.
    if (cur_.text.starts_with("\xEF\xBB\xBF")) cur_.pos = 3;
    while (!cur_.done()) {
      char c = cur_.peek();
      if (c == ' ' || c == '\t' || c == '\r') {
        cur_.advance();
      } else if (c == '#') {
        while (!cur_.done() && cur_.peek() != '\n') cur_.advance();
      } else if (c == '\n') {
        Token t = start(Tok::Newline);
        cur_.advance();
        if (depth_ == 0 && !out_.empty() && out_.back().kind != Tok::Newline) finish(t);
      } else if (is_alpha(c)) {
        ident();
      } else if (is_digit(c)) {
        number();
      } else if (c == '"') {
        string();
      } else {
        punct(c);
      }
    }
    if (!out_.empty() && out_.back().kind != Tok::Newline) finish(start(Tok::Newline));
    finish(start(Tok::End));
    return std::move(out_);
  }

private:
  [[noreturn]] void fail(SourceLoc loc, std::string msg) const {
    throw UserError(file_, loc, std::move(msg));
  }

  Token start(Tok kind) const {
    Token t;
    t.kind = kind;
    t.loc = cur_.loc;
    t.offset = cur_.pos;
    return t;
  }
  void finish(Token t) {
    t.end = cur_.pos;
    t.end_loc = cur_.loc;
    if (t.kind != Tok::String) t.text = std::string(cur_.text.substr(t.offset, t.end - t.offset));
    out_.push_back(std::move(t));
  }

  void ident() {
    Token t = start(Tok::Ident);
    for (;;) {
      while (is_alnum(cur_.peek())) cur_.advance();
      // A dot continues the name only when a name part follows: dense1.W.
      if (cur_.peek() == '.' && is_alpha(cur_.peek(1))) {
        cur_.advance();
        continue;
      }
      break;
    }
    finish(std::move(t));
  }

  void number() {
    Token t = start(Tok::Int);
    while (is_digit(cur_.peek())) cur_.advance();
    if (cur_.peek() == '.' && is_digit(cur_.peek(1))) {
      t.kind = Tok::Float;
      cur_.advance();
      while (is_digit(cur_.peek())) cur_.advance();
    }
    if ((cur_.peek() == 'e' || cur_.peek() == 'E') &&
        (is_digit(cur_.peek(1)) ||
         ((cur_.peek(1) == '+' || cur_.peek(1) == '-') && is_digit(cur_.peek(2))))) {
      t.kind = Tok::Float;
      cur_.advance();
      if (!is_digit(cur_.peek())) cur_.advance();
      while (is_digit(cur_.peek())) cur_.advance();
    }
    std::string spelling(cur_.text.substr(t.offset, cur_.pos - t.offset));
    if (is_alpha(cur_.peek()) || cur_.peek() == '.') {
      while (is_alnum(cur_.peek()) || cur_.peek() == '.') cur_.advance();
      fail(t.loc,
           fmt::format("invalid number '{}'", cur_.text.substr(t.offset, cur_.pos - t.offset)));
    }
    if (t.kind == Tok::Int) {
      int64_t v = 0;
      for (char d : spelling) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d - '0', &v))
          fail(t.loc,
               fmt::format("integer {} is too large (the limit is {})", spelling, INT64_MAX));
      }
      t.int_value = v;
      t.float_value = static_cast<double>(v);
    } else {
      double v = std::strtod(spelling.c_str(), nullptr);
      if (!std::isfinite(v)) fail(t.loc, fmt::format("number {} is out of range", spelling));
      t.float_value = v;
    }
    finish(std::move(t));
  }

  void string() {
    Token t = start(Tok::String);
    cur_.advance(); // the opening quote
    std::string value;
    for (;;) {
      if (cur_.done() || cur_.peek() == '\n')
        fail(t.loc, "unterminated string: expected a closing '\"' before the end of the line");
      char c = cur_.peek();
      if (c == '"') break;
      if (c == '\\') {
        SourceLoc at = cur_.loc;
        cur_.advance();
        char e = cur_.peek();
        if (e != '"' && e != '\\')
          fail(at, "unknown escape in string: only \\\" and \\\\ are allowed");
        c = e;
      }
      value += c;
      cur_.advance();
    }
    cur_.advance(); // the closing quote
    t.text = std::move(value);
    finish(std::move(t));
  }

  void punct(char c) {
    static constexpr std::pair<char, Tok> kPunct[] = {
        {'(', Tok::LParen}, {')', Tok::RParen}, {'[', Tok::LBracket}, {']', Tok::RBracket},
        {'{', Tok::LBrace}, {'}', Tok::RBrace}, {',', Tok::Comma},    {':', Tok::Colon},
        {'=', Tok::Equals}, {'+', Tok::Plus},   {'-', Tok::Minus},    {'*', Tok::Star},
        {'/', Tok::Slash}};
    for (auto [ch, kind] : kPunct) {
      if (c != ch) continue;
      Token t = start(kind);
      cur_.advance();
      if (kind == Tok::LParen || kind == Tok::LBracket) ++depth_;
      // An unbalanced closer is the parser's to report; the depth stays >= 0.
      if ((kind == Tok::RParen || kind == Tok::RBracket) && depth_ > 0) --depth_;
      finish(std::move(t));
      return;
    }
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) fail(cur_.loc, fmt::format("unexpected character '{}'", c));
    size_t n = u < 0x80 ? 1 : utf8_length(cur_.text, cur_.pos);
    if (n > 1)
      fail(cur_.loc, fmt::format("unexpected character '{}'", cur_.text.substr(cur_.pos, n)));
    fail(cur_.loc, fmt::format("unexpected character (byte 0x{:02x})", u));
  }

  const std::string& file_;
  Cursor cur_;
  int depth_ = 0; // open ( and [; newlines inside them are not statement ends
  std::vector<Token> out_;
};

} // namespace

void check_text(std::string_view text, const std::string& file) {
  Cursor cur;
  cur.text = text;
  while (!cur.done()) {
    auto c = static_cast<unsigned char>(cur.peek());
    if (c == 0) throw UserError(file, cur.loc, "not a text file: found a NUL byte");
    size_t n = utf8_length(text, cur.pos);
    if (n == 0)
      throw UserError(file, cur.loc,
                      fmt::format("not a text file: found byte 0x{:02x}, which is not UTF-8", c));
    for (size_t k = 0; k < n; ++k) cur.advance();
  }
}

std::vector<Token> lex(std::string_view text, const std::string& file) {
  check_text(text, file);
  return Lexer(text, file).run();
}

} // namespace netc
