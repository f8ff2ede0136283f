// upsample and upsample_backward against the reference. upsample reads the
// same sources with the same weights as the reference (tight tolerance);
// upsample_backward gathers what the reference scatters, so its sums add the
// same terms in another order.
#include "cg_test_helpers.h"

using namespace netc;
using namespace netc::cg_test;

namespace {

using Ints = std::vector<int64_t>;

const Tol kExact{1e-6, 1e-6};
const Tol kSum{1e-5, 1e-5};

// upsample and its gradient on x [B,C,H,W], each as a single-op kernel.
void upsample(const Shape& x, Ints scale, const std::string& mode) {
  Attrs attrs{{"scale", scale}, {"mode", mode}};
  Builder m;
  ValueId xv = m.input("x", f32(x));
  ValueId y = m.op(OpKind::Upsample, {xv}, attrs);
  ValueId dy = m.input("dy", m.g.node(y).type);
  Attrs back = attrs;
  back.set("input_shape", x.dims);
  ValueId dx = m.op(OpKind::UpsampleBackward, {dy}, back);
  check_kernel(m.g, codegen::single_op_kernel(m.g, y), {}, kExact);
  check_kernel(m.g, codegen::single_op_kernel(m.g, dx), {}, kSum);
}

} // namespace

TEST_CASE("upsample and upsample_backward, nearest and bilinear") {
  for (const char* mode : {"nearest", "bilinear"}) {
    CAPTURE(mode);
    upsample({B, 3, 8, 8}, {2, 2}, mode);
    upsample({B, 2, 5, 7}, {3, 3}, mode);  // odd sizes, scale 3
    upsample({B, 2, 3, 21}, {2, 3}, mode); // unequal scales, rows wider than a vector
    upsample({B, 1, 1, 1}, {2, 2}, mode);  // one pixel: both bilinear sources are it
    upsample({B, 2, 4, 5}, {1, 2}, mode);  // scale 1 on one axis
    // 9x9 = 81 bilinear taps, 25 nearest ones: the gradient's RDom stage.
    upsample({B, 1, 3, 4}, {4, 4}, mode);
  }
}
