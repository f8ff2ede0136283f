#include "frontend/parser.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace netc;

namespace {

// The expression of `x = EXPR`, written back in prefix form: (+ a (* b c)).
std::string sexpr(const Expr& e) {
  switch (e.kind) {
  case Expr::Kind::Number:
  case Expr::Kind::Name: return e.text;
  case Expr::Kind::String: return fmt::format("\"{}\"", e.text);
  case Expr::Kind::Neg: return fmt::format("(neg {})", sexpr(*e.args[0]));
  case Expr::Kind::Binary:
    return fmt::format("({} {} {})", e.op, sexpr(*e.args[0]), sexpr(*e.args[1]));
  case Expr::Kind::Tuple:
  case Expr::Kind::Call: {
    std::string s = fmt::format("({}", e.kind == Expr::Kind::Tuple ? std::string("tuple") : e.text);
    for (const auto& a : e.args) s += fmt::format(" {}", sexpr(*a));
    for (const auto& k : e.kwargs) s += fmt::format(" {}={}", k.name, sexpr(*k.value));
    s += ')';
    return s;
  }
  }
  return "?";
}

std::string parse_expr(const std::string& text) {
  Module m = parse(fmt::format("x = {}", text), "t.nn");
  REQUIRE(m.stmts.size() == 1);
  return sexpr(*std::get<AssignStmt>(m.stmts[0]).value);
}

} // namespace

TEST_CASE("precedence: * and / bind tighter than + and -, all left-associative") {
  CHECK(parse_expr("a + b * c") == "(+ a (* b c))");
  CHECK(parse_expr("a * b + c") == "(+ (* a b) c)");
  CHECK(parse_expr("a - b - c") == "(- (- a b) c)");
  CHECK(parse_expr("a / b / c") == "(/ (/ a b) c)");
  CHECK(parse_expr("(a + b) * c") == "(* (+ a b) c)");
  CHECK(parse_expr("-a * b") == "(* (neg a) b)");
  CHECK(parse_expr("a - -b") == "(- a (neg b))");
  CHECK(parse_expr("0.7 * f(a) + 0.3 * g(b)") == "(+ (* 0.7 (f a)) (* 0.3 (g b)))");
}

TEST_CASE("calls, keyword arguments and tuples") {
  CHECK(parse_expr("dense(h, 256, init=he)") == "(dense h 256 init=he)");
  CHECK(parse_expr("conv2d(x, 8, kernel=(3, 5), pad=same)") ==
        "(conv2d x 8 kernel=(tuple 3 5) pad=same)");
  CHECK(parse_expr("f()") == "(f)");
  CHECK(parse_expr("f(a,)") == "(f a)");
  CHECK(parse_expr("(2,)") == "(tuple 2)");
  CHECK(parse_expr("f(\n  a,\n  b\n)") == "(f a b)");
  CHECK(parse_expr("normal(0.02)") == "(normal 0.02)");
}

TEST_CASE("expression nodes carry the position of their operator or callee") {
  Module m = parse("y = a + relu(b) * 2", "t.nn");
  const Expr& e = *std::get<AssignStmt>(m.stmts[0]).value;
  CHECK(e.loc == SourceLoc{1, 7});                   // '+'
  CHECK(e.args[1]->loc == SourceLoc{1, 17});         // '*'
  CHECK(e.args[1]->args[0]->loc == SourceLoc{1, 9}); // relu
  CHECK(e.args[1]->args[1]->is_int);
  CHECK(e.depth == 4); // + over * over relu over b
}

TEST_CASE("each statement kind") {
  Module m = parse(R"(# a comment line
model net
input x : f32[batch, 1, 28, 28]
label y : class(10)[batch]
label t : f32[batch, 5]
param W : f32[4, 3] = normal(0.02) frozen
param b : f32[3] = zeros
h = relu(x)
output probs = softmax(h)
output h
loss mean(h)
train {
  batch = 32

  data = fashion-mnist
}
)",
                   "t.nn");
  REQUIRE(m.stmts.size() == 11);
  auto& model = std::get<ModelStmt>(m.stmts[0]);
  CHECK(model.name == "net");
  CHECK(model.loc == SourceLoc{2, 7});

  auto& x = std::get<InputStmt>(m.stmts[1]);
  CHECK_FALSE(x.is_label);
  CHECK(x.name == "x");
  CHECK(x.type.dtype == "f32");
  REQUIRE(x.type.dims.size() == 4);
  CHECK(x.type.dims[0].is_batch);
  CHECK(x.type.dims[3].value == 28);
  CHECK(x.type.dims[3].loc == SourceLoc{3, 29});

  auto& y = std::get<InputStmt>(m.stmts[2]);
  CHECK(y.is_label);
  CHECK(y.type.num_classes == 10);
  CHECK(y.type.dims.size() == 1);
  auto& t = std::get<InputStmt>(m.stmts[3]);
  CHECK(t.is_label);
  CHECK_FALSE(t.type.num_classes);

  auto& w = std::get<ParamStmt>(m.stmts[4]);
  CHECK(w.name == "W");
  CHECK(w.frozen);
  CHECK(sexpr(*w.init) == "(normal 0.02)");
  CHECK_FALSE(std::get<ParamStmt>(m.stmts[5]).frozen);

  CHECK(std::get<AssignStmt>(m.stmts[6]).name == "h");
  auto& probs = std::get<OutputStmt>(m.stmts[7]);
  CHECK(probs.name == "probs");
  CHECK(sexpr(*probs.value) == "(softmax h)");
  auto& out_h = std::get<OutputStmt>(m.stmts[8]);
  CHECK(out_h.name == "h");
  CHECK(out_h.value == nullptr);

  auto& loss = std::get<LossStmt>(m.stmts[9]);
  CHECK(loss.loc == SourceLoc{11, 1});
  CHECK(sexpr(*loss.value) == "(mean h)");

  auto& train = std::get<TrainStmt>(m.stmts[10]);
  REQUIRE(train.entries.size() == 2);
  CHECK(train.entries[0].key == "batch");
  CHECK(train.entries[0].loc == SourceLoc{13, 3});
  CHECK(train.entries[1].key == "data");
  // Names joined by '-' without spaces are one name inside the train block.
  CHECK(sexpr(*train.entries[1].value) == "fashion-mnist");
}

TEST_CASE("train block values: splits, calls, strings, one-line blocks") {
  Module m = parse("train { split = 0.6 / 0.2 / 0.2 }\n"
                   "train {\n  optimizer = adam(lr=1e-3)\n  data = \"csv:a.csv\"\n"
                   "  lr_decay = fashion - mnist }\n",
                   "t.nn");
  auto& a = std::get<TrainStmt>(m.stmts[0]);
  CHECK(sexpr(*a.entries[0].value) == "(/ (/ 0.6 0.2) 0.2)");
  auto& b = std::get<TrainStmt>(m.stmts[1]);
  CHECK(sexpr(*b.entries[0].value) == "(adam lr=1e-3)");
  CHECK(sexpr(*b.entries[1].value) == "\"csv:a.csv\"");
  // With spaces, '-' is a minus again.
  CHECK(sexpr(*b.entries[2].value) == "(- fashion mnist)");
}

TEST_CASE("a - b without spaces is a subtraction outside the train block") {
  CHECK(parse_expr("a-p") == "(- a p)");
}

TEST_CASE("nesting is bounded without recursing deeply") {
  std::string ok = std::string(200, '(');
  ok += 'a';
  ok += std::string(200, ')');
  CHECK(parse_expr(ok) == "a");
  for (std::string open : {"(", "relu(", "-"}) {
    std::string text = "x = ";
    for (int i = 0; i < 100000; ++i) text += open;
    text += 'a';
    text += std::string(open == "-" ? 0 : 100000, ')');
    try {
      parse(text, "t.nn");
      FAIL("deep nesting was accepted");
    } catch (const UserError& e) {
      CHECK(e.diagnostics()[0].message == "nesting too deep (limit 256)");
      CHECK(e.diagnostics()[0].loc.line == 1);
    }
  }
  // A long flat chain is not nesting, but its tree is still bounded.
  std::string chain = "x = a";
  for (int i = 0; i < 5000; ++i) chain += " + a";
  try {
    parse(chain, "t.nn");
    FAIL("a 5000-term chain was accepted");
  } catch (const UserError& e) {
    CHECK(e.diagnostics()[0].message.find("expression too deep") != std::string::npos);
  }
}
