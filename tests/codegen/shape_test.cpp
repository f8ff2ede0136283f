// Data movement against the reference: pure index arithmetic, so exact.
#include "cg_test_helpers.h"

using namespace netc;
using namespace netc::cg_test;

namespace {
const Tol kExact{0, 0};
using Ints = std::vector<int64_t>;
} // namespace

TEST_CASE("reshape") {
  SUBCASE("flatten images") {
    check_op(OpKind::Reshape, {{f32({B, 1, 28, 28})}}, Attrs{{"shape", Ints{-1, 784}}}, kExact);
  }
  SUBCASE("unflatten") {
    check_op(OpKind::Reshape, {{f32({B, 24})}}, Attrs{{"shape", Ints{-1, 2, 3, 4}}}, kExact);
  }
  SUBCASE("the batch moves inwards") {
    check_op(OpKind::Reshape, {{f32({B, 6})}}, Attrs{{"shape", Ints{2, -1, 3}}}, kExact);
  }
  SUBCASE("static") {
    check_op(OpKind::Reshape, {{f32({4, 6})}}, Attrs{{"shape", Ints{3, 8}}}, kExact);
  }
}

TEST_CASE("transpose") {
  check_op(OpKind::Transpose, {{f32({B, 9})}}, Attrs{{"perm", Ints{1, 0}}}, kExact);
  check_op(OpKind::Transpose, {{f32({B, 3, 4, 5})}}, Attrs{{"perm", Ints{0, 2, 3, 1}}}, kExact);
  check_op(OpKind::Transpose, {{f32({B, 3, 4})}}, Attrs{{"perm", Ints{2, -3, 1}}}, kExact);
}

TEST_CASE("concat") {
  check_op(OpKind::Concat, {{f32({B, 3})}, {f32({B, 5})}, {f32({B, 1})}},
           Attrs{{"axis", int64_t(1)}}, kExact);
  check_op(OpKind::Concat, {{f32({B, 2, 4})}, {f32({B, 3, 4})}}, Attrs{{"axis", int64_t(-2)}},
           kExact);
  check_op(OpKind::Concat, {{f32({2, 3})}, {f32({4, 3})}}, Attrs{{"axis", int64_t(0)}}, kExact);
}

TEST_CASE("slice") {
  check_op(OpKind::Slice, {{f32({B, 10})}},
           Attrs{{"axis", int64_t(1)}, {"start", int64_t(2)}, {"end", int64_t(7)}}, kExact);
  check_op(OpKind::Slice, {{f32({B, 6, 5})}}, Attrs{{"axis", int64_t(-2)}, {"start", int64_t(-4)}},
           kExact);
}

TEST_CASE("broadcast") {
  check_op(OpKind::Broadcast, {{f32({37})}}, Attrs{{"shape", Ints{-1, 37}}}, kExact);
  check_op(OpKind::Broadcast, {{f32({B, 1, 5})}}, Attrs{{"shape", Ints{-1, 3, 5}}}, kExact);
  check_op(OpKind::Broadcast, {{f32({})}}, Attrs{{"shape", Ints{4, 2}}}, kExact);
}

TEST_CASE("pad") {
  check_op(OpKind::Pad, {{f32({B, 6})}},
           Attrs{{"axis", int64_t(1)}, {"before", int64_t(2)}, {"after", int64_t(3)}}, kExact);
  check_op(OpKind::Pad, {{f32({B, 3, 4})}}, Attrs{{"axis", int64_t(-2)}, {"after", int64_t(1)}},
           kExact);
}
