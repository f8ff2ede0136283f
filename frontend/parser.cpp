#include "frontend/parser.h"

#include "frontend/call_args.h"
#include "frontend/lexer.h"
#include "ir/types.h"

#include <algorithm>
#include <fmt/format.h>

namespace netc {

namespace {

// Statement keywords and how each statement is written, for error messages.
struct Keyword {
  std::string_view word;
  std::string_view usage;
};
constexpr Keyword kKeywords[] = {
    {"model", "model NAME"},
    {"input", "input NAME : f32[batch, ...]"},
    {"label", "label NAME : class(N)[batch]"},
    {"param", "param NAME : f32[...] = INIT"},
    {"output", "output NAME = EXPR"},
    {"loss", "loss EXPR"},
    {"train", "train { KEY = VALUE ... }"},
    {"def", "def NAME(PARAMS) { ... return EXPR }"},
    {"import", "import \"FILE.onnx\" as NAME"},
};

// A block parameter's default is fixed when the block is defined: a number,
// a name (he, true, same), a string, or a tuple of those.
bool is_constant(const Expr& e) {
  switch (e.kind) {
  case Expr::Kind::Number:
  case Expr::Kind::Name:
  case Expr::Kind::String: return true;
  case Expr::Kind::Neg: return literal_number(e).has_value();
  case Expr::Kind::Tuple:
    return std::all_of(e.args.begin(), e.args.end(),
                       [](const ExprPtr& a) { return is_constant(*a); });
  case Expr::Kind::Call:
  case Expr::Kind::Binary: return false;
  }
  return false;
}

const Keyword* keyword(std::string_view word) {
  for (const Keyword& k : kKeywords)
    if (k.word == word) return &k;
  return nullptr;
}

class Parser {
public:
  Parser(std::vector<Token> tokens, const std::string& file)
      : toks_(std::move(tokens)), file_(file) {}

  Module module() {
    Module m;
    skip_newlines();
    while (cur().kind != Tok::End) {
      m.stmts.push_back(statement());
      end_of_statement();
      skip_newlines();
    }
    m.end = last_ ? last_->end_loc : SourceLoc{1, 1};
    return m;
  }

private:
  // ---- token access -------------------------------------------------------

  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(size_t ahead = 1) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  const Token& advance() {
    const Token& t = toks_[pos_];
    if (t.kind != Tok::Newline && t.kind != Tok::End) last_ = &t;
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool at(Tok kind) const { return cur().kind == kind; }
  bool accept(Tok kind) {
    if (!at(kind)) return false;
    advance();
    return true;
  }
  void skip_newlines() {
    while (at(Tok::Newline)) advance();
  }

  [[noreturn]] void fail(SourceLoc loc, std::string msg) const {
    throw UserError(file_, loc, std::move(msg));
  }

  // "expected X, found Y" at the current token. When the current token is on a
  // later line than the previous one (a newline inside parentheses) or ends
  // the line, the error points just past the previous token: that is where
  // the missing ')' or value belongs.
  [[noreturn]] void fail_expected(std::string_view expected) const {
    const Token& t = cur();
    bool line_end =
        t.kind == Tok::Newline || t.kind == Tok::End || (last_ && t.loc.line > last_->end_loc.line);
    SourceLoc loc = line_end && last_ ? last_->end_loc : t.loc;
    std::string found = t.kind == Tok::End ? "end of file" : line_end ? "end of line" : describe(t);
    fail(loc, fmt::format("expected {}, found {}", expected, found));
  }

  const Token& expect(Tok kind, std::string_view context) {
    if (!at(kind)) fail_expected(fmt::format("{} {}", describe(kind), context));
    return advance();
  }

  const Token& expect_ident(std::string_view what) {
    if (!at(Tok::Ident)) fail_expected(what);
    return advance();
  }

  void end_of_statement() {
    if (at(Tok::Newline) || at(Tok::End)) return;
    fail(cur().loc,
         fmt::format("expected end of line after the statement, found {}", describe(cur())));
  }

  // ---- statements ---------------------------------------------------------

  Stmt statement() {
    const Token& t = cur();
    if (t.kind != Tok::Ident)
      fail(t.loc, fmt::format("expected a statement (model, input, label, param, output, loss, "
                              "train, def, import or NAME = EXPR), found {}",
                              describe(t)));
    if (t.text == "return")
      fail(t.loc, "'return' can only end a block (def NAME(PARAMS) { ... return EXPR })");
    if (const Keyword* k = keyword(t.text)) {
      if (peek().kind == Tok::Equals)
        fail(t.loc,
             fmt::format("'{}' starts a statement ({}) and cannot be assigned", k->word, k->usage));
      std::string_view w = k->word;
      if (w == "model") return model_stmt();
      if (w == "input" || w == "label") return input_stmt(w == "label");
      if (w == "param") return param_stmt();
      if (w == "output") return output_stmt();
      if (w == "loss") return loss_stmt();
      if (w == "def") return def_stmt();
      if (w == "import") return import_stmt();
      return train_stmt();
    }
    if (peek().kind != Tok::Equals) {
      std::vector<std::string> words;
      for (const Keyword& k : kKeywords) words.emplace_back(k.word);
      std::string hint = suggest(t.text, words);
      const Token& next = peek();
      SourceLoc loc = next.kind == Tok::Newline || next.kind == Tok::End ? t.end_loc : next.loc;
      std::string found =
          next.kind == Tok::Newline || next.kind == Tok::End ? describe(next.kind) : describe(next);
      fail(loc, fmt::format("expected '=' after '{}', found {}{}", t.text, found,
                            hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
    }
    AssignStmt s;
    s.name = t.text;
    s.loc = t.loc;
    advance();
    advance(); // '='
    s.value = expression();
    return s;
  }

  ImportStmt import_stmt() {
    advance();
    ImportStmt s;
    if (!at(Tok::String))
      fail_expected("a file name in quotes after 'import' (import \"model.onnx\" as net)");
    s.path = cur().text;
    s.path_loc = cur().loc;
    advance();
    if (!at(Tok::Ident) || cur().text != "as")
      fail_expected(fmt::format("'as NAME' after the file name (import \"{}\" as net)", s.path));
    advance();
    const Token& name = expect_ident("a name after 'as'");
    s.name = name.text;
    s.loc = name.loc;
    return s;
  }

  ModelStmt model_stmt() {
    advance();
    const Token& name = expect_ident("a model name after 'model'");
    return ModelStmt{name.text, name.loc};
  }

  InputStmt input_stmt(bool is_label) {
    std::string kw = advance().text;
    InputStmt s;
    s.is_label = is_label;
    const Token& name = expect_ident(fmt::format("a name after '{}'", kw));
    s.name = name.text;
    s.loc = name.loc;
    expect(Tok::Colon, fmt::format("after the {} name", kw));
    s.type = type_spec(is_label);
    return s;
  }

  ParamStmt param_stmt() {
    advance();
    ParamStmt s;
    const Token& name = expect_ident("a name after 'param'");
    s.name = name.text;
    s.loc = name.loc;
    expect(Tok::Colon, "after the param name");
    s.type = type_spec(false);
    expect(Tok::Equals, "and an initializer after the param type (e.g. '= he')");
    s.init = expression();
    if (at(Tok::Ident) && cur().text == "frozen") {
      advance();
      s.frozen = true;
    } else if (!at(Tok::Newline) && !at(Tok::End)) {
      fail(cur().loc,
           fmt::format("expected 'frozen' or end of line after the initializer, found {}",
                       describe(cur())));
    }
    return s;
  }

  OutputStmt output_stmt() {
    advance();
    OutputStmt s;
    const Token& name = expect_ident("a name after 'output'");
    s.name = name.text;
    s.loc = name.loc;
    if (accept(Tok::Equals)) s.value = expression();
    return s;
  }

  LossStmt loss_stmt() {
    LossStmt s;
    s.loc = advance().loc;
    if (at(Tok::Newline) || at(Tok::End)) fail_expected("an expression after 'loss'");
    s.value = expression();
    return s;
  }

  TrainStmt train_stmt() {
    TrainStmt s;
    s.loc = advance().loc;
    expect(Tok::LBrace, "after 'train'");
    skip_newlines();
    while (!at(Tok::RBrace)) {
      if (at(Tok::End)) fail_expected("'}' to close the train block");
      const Token& key = expect_ident("a key (such as 'batch') in the train block");
      TrainEntry e;
      e.key = key.text;
      e.loc = key.loc;
      if (!at(Tok::Equals))
        fail_expected(fmt::format("'=' after '{}' (write {} = VALUE)", key.text, key.text));
      advance();
      train_value_ = true;
      e.value = expression();
      // A comma-separated value (augment = shift(2), flip) is a tuple.
      if (at(Tok::Comma)) {
        ExprPtr list = make(Expr::Kind::Tuple, e.value->loc);
        list->args.push_back(std::move(e.value));
        while (accept(Tok::Comma)) list->args.push_back(expression());
        e.value = sealed(std::move(list));
      }
      train_value_ = false;
      s.entries.push_back(std::move(e));
      if (at(Tok::RBrace)) break;
      if (!at(Tok::Newline)) fail_expected("end of line after the value");
      skip_newlines();
    }
    advance(); // '}'
    return s;
  }

  // def NAME(p1, p2=DEFAULT, ...) { NAME = EXPR ... return EXPR }
  DefStmt def_stmt() {
    advance();
    DefStmt s;
    const Token& name = expect_ident("a block name after 'def'");
    s.name = name.text;
    s.loc = name.loc;
    std::string context = fmt::format("in the parameters of '{}'", s.name);
    expect(Tok::LParen,
           fmt::format("after the block name (write def {}(x, ...) {{ ... }})", s.name));
    while (!accept(Tok::RParen)) {
      const Token& p = expect_ident(fmt::format("a parameter name or ')' {}", context));
      for (const DefParam& old : s.params)
        if (old.name == p.text)
          fail(p.loc, fmt::format("parameter '{}' of '{}' is given twice", p.text, s.name));
      DefParam param{p.text, p.loc, nullptr};
      if (accept(Tok::Equals)) {
        param.default_value = expression();
        if (!is_constant(*param.default_value))
          fail(param.default_value->loc,
               fmt::format("the default of '{}' must be a constant (a number, a name such as he, "
                           "or a tuple), found {}",
                           p.text, describe(*param.default_value)));
      } else if (!s.params.empty() && s.params.back().default_value) {
        fail(p.loc, fmt::format("parameter '{}' has no default but follows '{}', which has one; "
                                "put the parameters with defaults last",
                                p.text, s.params.back().name));
      }
      s.params.push_back(std::move(param));
      if (accept(Tok::RParen)) break;
      if (!at(Tok::Comma)) fail_expected(fmt::format("',' or ')' {}", context));
      advance();
    }
    expect(Tok::LBrace,
           fmt::format("after the parameters of '{}' (the body goes in {{ ... }})", s.name));
    skip_newlines();
    for (;;) {
      const Token& t = cur();
      if (t.kind == Tok::End) fail_expected(fmt::format("'}}' to close block '{}'", s.name));
      if (t.kind == Tok::RBrace)
        fail(t.loc, fmt::format("block '{}' has no 'return'; end it with return EXPR", s.name));
      if (t.kind == Tok::Ident && t.text == "return") break;
      if (t.kind == Tok::Ident && t.text == "def")
        fail(t.loc, fmt::format("a def cannot be inside another def ('{}', line {}); define it at "
                                "the top level",
                                s.name, s.loc.line));
      if (t.kind == Tok::Ident && keyword(t.text) && peek().kind != Tok::Equals)
        fail(t.loc, fmt::format("'{}' cannot appear inside a block; a block holds assignments "
                                "(NAME = EXPR) and ends with return EXPR",
                                t.text));
      s.body.push_back(std::get<AssignStmt>(statement()));
      end_of_statement();
      skip_newlines();
    }
    s.return_loc = advance().loc;
    if (at(Tok::Newline) || at(Tok::End) || at(Tok::RBrace))
      fail_expected("an expression after 'return'");
    s.result = expression();
    skip_newlines();
    if (at(Tok::End)) fail_expected(fmt::format("'}}' to close block '{}'", s.name));
    if (!at(Tok::RBrace))
      fail(cur().loc, fmt::format("'return' must be the last statement of block '{}', found {} "
                                  "after it",
                                  s.name, describe(cur())));
    advance(); // '}'
    return s;
  }

  // f32[batch, 784]; for labels also class(10)[batch].
  TypeSpec type_spec(bool is_label) {
    TypeSpec t;
    const Token& dt = expect_ident(is_label ? "a type such as class(10)[batch] or f32[batch, 5]"
                                            : "a type such as f32[batch, 784]");
    t.dtype = dt.text;
    t.loc = dt.loc;
    // class(N) also declares integer inputs such as embedding ids.
    if (dt.text == "class") {
      expect(Tok::LParen, "after 'class' (write class(N)[batch])");
      if (!at(Tok::Int)) fail_expected("the number of classes");
      const Token& n = advance();
      if (n.int_value < 2)
        fail(n.loc, fmt::format("a class label needs at least 2 classes, found {}", n.text));
      t.num_classes = n.int_value;
      expect(Tok::RParen, "after the number of classes");
    } else if (!dtype_from_name(dt.text)) {
      std::vector<std::string> names = {"f32", "f64", "i32", "i64"};
      names.emplace_back("class");
      std::string hint = suggest(dt.text, names);
      fail(dt.loc, fmt::format("unknown element type '{}'; expected f32, f64, i32 or i64{}{}",
                               dt.text, " (or class(N) for class indices)",
                               hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
    }
    expect(Tok::LBracket, "after the element type (write a shape such as [batch, 10])");
    if (!at(Tok::RBracket)) {
      for (;;) {
        t.dims.push_back(dim_spec());
        if (accept(Tok::RBracket)) break;
        if (!at(Tok::Comma)) fail_expected("',' or ']' in the shape");
        advance();
      }
    } else {
      advance();
    }
    return t;
  }

  DimSpec dim_spec() {
    DimSpec d;
    d.loc = cur().loc;
    if (at(Tok::Ident) && cur().text == "batch") {
      advance();
      d.is_batch = true;
      return d;
    }
    if (!at(Tok::Int)) fail_expected("a dimension (a positive integer or 'batch')");
    const Token& n = advance();
    if (n.int_value <= 0)
      fail(n.loc, fmt::format("a dimension must be positive, found {}", n.text));
    d.value = n.int_value;
    return d;
  }

  // ---- expressions --------------------------------------------------------

  // Counts nesting on the way down; the limit turns a 100,000-deep input into
  // a located error long before the stack is at risk.
  struct NestGuard {
    Parser& p;
    explicit NestGuard(Parser& parser) : p(parser) {
      if (++p.nesting_ > kMaxNesting)
        p.fail(p.cur().loc, fmt::format("nesting too deep (limit {})", kMaxNesting));
    }
    ~NestGuard() { --p.nesting_; }
    NestGuard(const NestGuard&) = delete;
    NestGuard& operator=(const NestGuard&) = delete;
  };

  ExprPtr make(Expr::Kind kind, SourceLoc loc) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->loc = loc;
    return e;
  }

  // Sets the tree height of `e` from its children and bounds it.
  ExprPtr sealed(ExprPtr e) {
    int h = 0;
    for (const auto& a : e->args) h = std::max(h, a->depth);
    for (const auto& k : e->kwargs) h = std::max(h, k.value->depth);
    e->depth = h + 1;
    if (e->depth > kMaxExprDepth)
      fail(e->loc, fmt::format("expression too deep (limit {} nested operations)", kMaxExprDepth));
    return e;
  }

  ExprPtr expression() {
    NestGuard guard(*this);
    return additive();
  }

  ExprPtr binary(ExprPtr lhs, const Token& op, ExprPtr rhs) {
    ExprPtr e = make(Expr::Kind::Binary, op.loc);
    e->op = op.text[0];
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    return sealed(std::move(e));
  }

  ExprPtr additive() {
    ExprPtr lhs = multiplicative();
    while (at(Tok::Plus) || at(Tok::Minus)) {
      const Token& op = advance();
      lhs = binary(std::move(lhs), op, multiplicative());
    }
    return lhs;
  }

  ExprPtr multiplicative() {
    ExprPtr lhs = unary();
    while (at(Tok::Star) || at(Tok::Slash)) {
      const Token& op = advance();
      lhs = binary(std::move(lhs), op, unary());
    }
    return lhs;
  }

  ExprPtr unary() {
    if (!at(Tok::Minus)) return primary();
    NestGuard guard(*this);
    ExprPtr e = make(Expr::Kind::Neg, advance().loc);
    e->args.push_back(unary());
    return sealed(std::move(e));
  }

  ExprPtr primary() {
    const Token& t = cur();
    switch (t.kind) {
    case Tok::Int:
    case Tok::Float: {
      advance();
      ExprPtr e = make(Expr::Kind::Number, t.loc);
      e->text = t.text;
      e->number = t.float_value;
      e->int_value = t.int_value;
      e->is_int = t.kind == Tok::Int;
      return e;
    }
    case Tok::String: {
      advance();
      ExprPtr e = make(Expr::Kind::String, t.loc);
      e->text = t.text;
      return e;
    }
    case Tok::Ident: {
      advance();
      if (at(Tok::LParen)) return call(t);
      ExprPtr e = make(Expr::Kind::Name, t.loc);
      e->text = t.text;
      // In the train block, names joined by '-' without spaces are one name
      // (fashion-mnist); elsewhere a-b is a subtraction.
      while (train_value_ && at(Tok::Minus) && cur().offset == last_->end &&
             peek().kind == Tok::Ident && peek().offset == cur().end) {
        advance();
        e->text += "-" + advance().text;
      }
      return e;
    }
    case Tok::LParen: return parenthesized();
    default: fail_expected("an expression");
    }
  }

  // (expr) or a tuple (a, b, ...).
  ExprPtr parenthesized() {
    SourceLoc loc = advance().loc;
    if (at(Tok::RParen)) fail(cur().loc, "expected an expression or a tuple inside '()'");
    ExprPtr first = expression();
    if (accept(Tok::RParen)) return first;
    ExprPtr tuple = make(Expr::Kind::Tuple, loc);
    tuple->args.push_back(std::move(first));
    while (!accept(Tok::RParen)) {
      if (!at(Tok::Comma)) fail_expected("',' or ')'");
      advance();
      if (accept(Tok::RParen)) break; // a trailing comma: (2,)
      tuple->args.push_back(expression());
    }
    return sealed(std::move(tuple));
  }

  // The arguments nest through expression(), which counts the depth.
  ExprPtr call(const Token& callee) {
    ExprPtr e = make(Expr::Kind::Call, callee.loc);
    e->text = callee.text;
    advance(); // '('
    std::string context = fmt::format("in the arguments of {}", callee.text);
    while (!accept(Tok::RParen)) {
      if (at(Tok::Ident) && peek().kind == Tok::Equals) {
        const Token& name = advance();
        advance(); // '='
        for (const KeywordArg& k : e->kwargs)
          if (k.name == name.text)
            fail(name.loc, fmt::format("argument '{}' is given twice", name.text));
        e->kwargs.push_back(KeywordArg{name.text, name.loc, expression()});
      } else {
        if (at(Tok::Comma) || at(Tok::Newline) || at(Tok::End))
          fail_expected(fmt::format("an argument or ')' {}", context));
        if (!e->kwargs.empty())
          fail(cur().loc, fmt::format("a positional argument cannot follow keyword argument '{}'",
                                      e->kwargs.back().name));
        e->args.push_back(expression());
      }
      if (accept(Tok::RParen)) break;
      if (!at(Tok::Comma)) fail_expected(fmt::format("',' or ')' {}", context));
      advance();
    }
    return sealed(std::move(e));
  }

  std::vector<Token> toks_;
  const std::string& file_;
  size_t pos_ = 0;
  const Token* last_ = nullptr; // the last token consumed that was not a newline
  int nesting_ = 0;
  bool train_value_ = false;
};

} // namespace

Module parse(std::string_view text, const std::string& file) {
  return Parser(lex(text, file), file).module();
}

} // namespace netc
