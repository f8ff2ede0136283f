// The syntax tree of a .nn file. Expressions are one small tagged struct
// (they nest); statements are a std::variant of flat structs (they do not).
// The tree records what was written and where; meaning is the IR builder's.
#pragma once

#include "ir/error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace netc {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct KeywordArg {
  std::string name;
  SourceLoc loc; // of the name
  ExprPtr value;
};

struct Expr {
  enum class Kind {
    Number, // 128, 1e-3 (a negative literal is Neg(Number))
    Name,   // h, he, true, dense1.W
    String, // "csv:data.csv"
    Call,   // text(args..., kwargs...)
    Binary, // args[0] op args[1], op in + - * /
    Neg,    // -args[0]
    Tuple,  // (args...), at least one comma
  };
  Kind kind = Kind::Number;
  SourceLoc loc;    // the literal, the name, the callee, or the operator
  std::string text; // Name: the name; Call: the callee; String: the contents; Number: spelling
  double number = 0.0;
  int64_t int_value = 0;
  bool is_int = false; // a Number written without '.' or exponent
  char op = 0;         // Binary
  std::vector<ExprPtr> args;
  std::vector<KeywordArg> kwargs; // Call
  int depth = 1;                  // height of the tree: bounds recursion in later stages
};

// One dimension of a declared type: a positive integer or `batch`.
struct DimSpec {
  int64_t value = 0;
  bool is_batch = false;
  SourceLoc loc;
};

// f32[batch, 784], or (labels only) class(10)[batch].
struct TypeSpec {
  std::string dtype; // "f32"..., or "class"
  SourceLoc loc;
  std::optional<int64_t> num_classes;
  std::vector<DimSpec> dims;
};

struct ModelStmt {
  std::string name;
  SourceLoc loc; // of the name
};

struct InputStmt { // `input` and `label`
  bool is_label = false;
  std::string name;
  SourceLoc loc;
  TypeSpec type;
};

struct ParamStmt {
  std::string name;
  SourceLoc loc;
  TypeSpec type;
  ExprPtr init; // a name (he) or a call (normal(0.02))
  bool frozen = false;
};

struct AssignStmt {
  std::string name;
  SourceLoc loc;
  ExprPtr value;
};

struct OutputStmt {
  std::string name;
  SourceLoc loc;
  ExprPtr value; // null for `output NAME` of an existing value
};

struct LossStmt {
  SourceLoc loc; // of the keyword
  ExprPtr value;
};

struct TrainEntry {
  std::string key;
  SourceLoc loc; // of the key
  ExprPtr value;
};

struct TrainStmt {
  SourceLoc loc;
  std::vector<TrainEntry> entries;
};

// One parameter of a block: `c` or, with a compile-time default, `stride=1`.
struct DefParam {
  std::string name;
  SourceLoc loc;
  ExprPtr default_value; // null when the parameter is required
};

// def NAME(PARAMS) { ASSIGNMENTS... return EXPR }: a block that calls inline
// into the model (frontend/blocks.cpp), each call with its own parameters.
struct DefStmt {
  std::string name;
  SourceLoc loc; // of the name
  std::vector<DefParam> params;
  std::vector<AssignStmt> body;
  ExprPtr result;       // the returned expression
  SourceLoc return_loc; // of the keyword
};

// import "model.onnx" as NAME: an ONNX network called as NAME(x, ...) inside
// the model (frontend/imports.cpp), its initializers the starting weights.
struct ImportStmt {
  std::string path;
  SourceLoc path_loc;
  std::string name;
  SourceLoc loc; // of the name
};

using Stmt = std::variant<ModelStmt, InputStmt, ParamStmt, AssignStmt, OutputStmt, LossStmt,
                          TrainStmt, DefStmt, ImportStmt>;

struct Module {
  std::vector<Stmt> stmts;
  SourceLoc end; // just past the last token, for "the model has no output"
};

} // namespace netc
