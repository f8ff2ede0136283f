// The lookup-table family (gather, gather_backward): shapes and rejections,
// values by hand (torch.nn.functional.embedding's numbers, repeated ids
// summing in the scatter), out-of-range ids as run-time errors that name the
// value and the position, and adjointness
//   <dy, gather(E, ids)> = <gather_backward(dy, ids), E>
// for random tensors.
#include "op_test_helpers.h"

#include "ir/init.h"

using namespace netc;
using namespace netc::op_test;

namespace {

Attrs vocab(int64_t v) { return Attrs{{"vocab", v}}; }

const DType I = DType::i32;

} // namespace

TEST_CASE("gather: shapes") {
  CHECK(out_type(OpKind::Gather, {f32({10, 4}), i32({B, 7})}) == f32({B, 7, 4}));
  CHECK(out_type(OpKind::Gather, {f64({3, 1}), i32({B})}) == f64({B, 1}));
  CHECK(out_type(OpKind::Gather, {f32({5, 2}), i32({2, 3, 4})}) == f32({2, 3, 4, 2}));
  CHECK(out_type(OpKind::GatherBackward, {f32({B, 7, 4}), i32({B, 7})}, vocab(10)) == f32({10, 4}));
  CHECK(out_type(OpKind::GatherBackward, {f64({B, 1}), i32({B})}, vocab(3)) == f64({3, 1}));
}

TEST_CASE("gather: errors name the shapes") {
  std::string e = build_error(OpKind::Gather, {f32({10, 4}), f32({B, 7})});
  CHECK(contains(e, "gather"));
  CHECK(contains(e, "ids must be integer indices (i32 or i64), found f32[batch,7]"));
  e = build_error(OpKind::Gather, {f32({10, 4, 2}), i32({B, 7})});
  CHECK(contains(e, "the table must be [V, D] with constant V and D, found [10,4,2]"));
  e = build_error(OpKind::Gather, {f32({B, 4}), i32({B, 7})});
  CHECK(contains(e, "constant V and D, found [batch,4]"));
  e = build_error(OpKind::Gather, {i32({10, 4}), i32({B, 7})});
  CHECK(contains(e, "the table must be f32 or f64, found i32[10,4]"));
  e = build_error(OpKind::Gather, {f32({10, 4}), i32({})});
  CHECK(contains(e, "ids must have at least one axis"));
  e = build_error(OpKind::GatherBackward, {f32({B, 6, 4}), i32({B, 7})}, vocab(10));
  CHECK(contains(e, "dy must be the ids' shape [batch,7] plus a constant row width, found "
                    "[batch,6,4]"));
  e = build_error(OpKind::GatherBackward, {f32({B, 7}), i32({B, 7})}, vocab(10));
  CHECK(contains(e, "plus a constant row width"));
  e = build_error(OpKind::GatherBackward, {f32({B, 7, 4}), i32({B, 7})}, vocab(0));
  CHECK(contains(e, "vocab must be positive, found 0"));
  e = build_error(OpKind::GatherBackward, {f32({B, 7, 4}), i32({B, 7})});
  CHECK(contains(e, "vocab"));
}

TEST_CASE_TEMPLATE("gather by hand, repeated ids", T, float, double) {
  // E = [[1,2],[3,4],[5,6]]; ids [[2,0],[2,2]]: row 2 three times.
  Arg table{{3, 2}, {1, 2, 3, 4, 5, 6}};
  Arg ids{{2, 2}, {2, 0, 2, 2}, I};
  check_values(run<T>(OpKind::Gather, {table, ids}), {2, 2, 2}, {5, 6, 1, 2, 5, 6, 5, 6});
  // The scatter sums every position of a repeated id; row 1 stays zero.
  Arg dy{{2, 2, 2}, {1, 10, 2, 20, 3, 30, 4, 40}};
  check_values(run<T>(OpKind::GatherBackward, {dy, ids}, vocab(3)), {3, 2}, {2, 20, 0, 0, 8, 80});
}

TEST_CASE("gather: an id outside the table is an error naming it and its position") {
  Arg table{{3, 2}, {1, 2, 3, 4, 5, 6}};
  std::string e = run_error<float>(OpKind::Gather, {table, {{B, 3}, {0, 1, 2, 2, 3, 0}, I}}, {}, 2);
  CHECK(contains(e, "gather: id 3 at position [1,1] of the ids [2,3] is outside the table's rows "
                    "0..2"));
  e = run_error<double>(OpKind::Gather, {table, {{2}, {-1, 0}, I}});
  CHECK(contains(e, "id -1 at position [0]"));
  e = run_error<double>(OpKind::GatherBackward, {{{2, 2}, {1, 2, 3, 4}}, {{2}, {0, 7}, I}},
                        vocab(3));
  CHECK(contains(e, "gather_backward: id 7 at position [1]"));
  CHECK(run_error<double>(OpKind::Gather, {table, {{2}, {2, 0}, I}}).empty());
}

TEST_CASE("gather_backward is the adjoint of gather") {
  int64_t V = 5, D = 3, batch = 2, T = 7;
  Tensor<double> E({V, D}), dy({batch, T, D});
  std::vector<double> e_data, dy_data, id_data;
  for (int64_t i = 0; i < E.size(); ++i) e_data.push_back(counter_normal(1, 2, uint32_t(i)));
  for (int64_t i = 0; i < dy.size(); ++i) dy_data.push_back(counter_normal(1, 3, uint32_t(i)));
  for (int64_t i = 0; i < batch * T; ++i)
    id_data.push_back(double(hash32(1, 4, 0, uint32_t(i)) % V));
  Tensor<double> y =
      run<double>(OpKind::Gather, {{{V, D}, e_data}, {{B, T}, id_data, I}}, {}, batch);
  Tensor<double> dE = run<double>(OpKind::GatherBackward,
                                  {{{B, T, D}, dy_data}, {{B, T}, id_data, I}}, vocab(V), batch);
  double lhs = 0, rhs = 0;
  for (size_t i = 0; i < dy_data.size(); ++i) lhs += dy_data[i] * y.data[i];
  for (size_t i = 0; i < e_data.size(); ++i) rhs += dE.data[i] * e_data[i];
  CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
  CHECK(lhs != 0);
}

TEST_CASE("gather: flops") {
  CHECK(flops(OpKind::Gather, {f32({10, 4}), i32({B, 7})}) == 0);
  CHECK(flops(OpKind::GatherBackward, {f32({B, 7, 4}), i32({B, 7})}, vocab(10)) == 28);
}
