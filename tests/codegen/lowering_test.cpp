// Every op of ops.def has a Halide lowering (STYLE.md #1: one op table,
// checked for completeness).
#include "codegen/lowering.h"

#include <doctest/doctest.h>

#include <string>

using namespace netc;

TEST_CASE("every op of ops.def has a Halide lowering") {
  std::string missing;
  for (int i = 0; i < kNumOps; ++i) {
    auto kind = static_cast<OpKind>(i);
    if (!codegen::find_lowering(kind)) missing.append(" ").append(op_name(kind));
  }
  INFO("ops without a lowering:" << missing);
  CHECK(missing.empty());
}
