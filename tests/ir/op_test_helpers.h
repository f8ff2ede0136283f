// Helpers for the op family tests (tests/ir/ops_<family>_test.cpp): build one
// op over Input leaves, read its type or its error, run it with the reference
// interpreter, compare with expected values.
#pragma once

#include "ir/interpreter.h"

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace netc::op_test {

inline constexpr int64_t B = kBatch;

inline TensorType f32(Shape s) { return {DType::f32, std::move(s)}; }
inline TensorType f64(Shape s) { return {DType::f64, std::move(s)}; }
inline TensorType i32(Shape s) { return {DType::i32, std::move(s)}; }

// Builds `kind` over Input leaves of the given types; returns the op's node.
inline Node build(OpKind kind, const std::vector<TensorType>& types, const Attrs& attrs = {}) {
  Graph g;
  GraphBuilder b(g);
  std::vector<ValueId> ins;
  for (size_t i = 0; i < types.size(); ++i)
    ins.push_back(b.leaf(OpKind::Input, types[i], Attrs{{"name", "in" + std::to_string(i)}}));
  return g.node(b.op(kind, ins, attrs));
}

inline TensorType out_type(OpKind kind, const std::vector<TensorType>& types,
                           const Attrs& attrs = {}) {
  return build(kind, types, attrs).type;
}

// The message of the UserError that building the op raises ("" if none).
inline std::string build_error(OpKind kind, const std::vector<TensorType>& types,
                               const Attrs& attrs = {}) {
  try {
    build(kind, types, attrs);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The op's FLOPs for one example.
inline int64_t flops(OpKind kind, const std::vector<TensorType>& types, const Attrs& attrs = {}) {
  return op_def(kind).flops(build(kind, types, attrs), types);
}

// An input: its declared shape (with B), its row-major data at the run's batch
// extent, and its dtype (default: the float type of the run).
struct Arg {
  Shape shape;
  std::vector<double> data;
  std::optional<DType> dtype = std::nullopt;
};

// Runs `kind` on the inputs with the reference interpreter in precision T;
// returns the op's value. A run-time error propagates as UserError.
template <class T>
Tensor<T> run(OpKind kind, const std::vector<Arg>& args, const Attrs& attrs = {},
              int64_t batch = 1) {
  DType ft = std::is_same_v<T, float> ? DType::f32 : DType::f64;
  Graph g;
  GraphBuilder b(g);
  std::map<std::string, Tensor<T>> values;
  std::vector<ValueId> ins;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    TensorType type{args[i].dtype.value_or(ft), args[i].shape};
    ins.push_back(b.leaf(OpKind::Input, type, Attrs{{"name", name}}));
    Tensor<T> t(args[i].shape.concrete(batch));
    REQUIRE(t.data.size() == args[i].data.size());
    for (size_t j = 0; j < t.data.size(); ++j) t.data[j] = static_cast<T>(args[i].data[j]);
    values.emplace(name, std::move(t));
  }
  b.op(kind, ins, attrs);
  RefContext<T> ctx;
  ctx.batch = batch;
  ctx.values = &values;
  return interpret(g, ctx).back();
}

// The message of the UserError that running the op raises ("" if none).
template <class T>
std::string run_error(OpKind kind, const std::vector<Arg>& args, const Attrs& attrs = {},
                      int64_t batch = 1) {
  try {
    run<T>(kind, args, attrs, batch);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

// Checks shape and values, to a tolerance that suits T (relative, and absolute
// near 0).
template <class T>
void check_values(const Tensor<T>& got, const std::vector<int64_t>& shape,
                  const std::vector<double>& want) {
  double eps = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  CHECK(got.shape == shape);
  REQUIRE(got.data.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i);
    CHECK(static_cast<double>(got.data[i]) == doctest::Approx(want[i]).epsilon(eps));
  }
}

} // namespace netc::op_test
