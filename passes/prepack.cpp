#include "passes/prepack.h"

#include "ir/ops/packed_conv.h"
#include "passes/rewrite.h"

namespace netc {

PassResult prepack_conv_weights(const Graph& g) {
  std::vector<bool> dep = data_dependent(g);
  Rewritten r =
      rewrite(g, [&](GraphBuilder& b, const Node& n, ValueId old) -> std::optional<ValueId> {
        if (n.op != OpKind::Conv2d) return std::nullopt;
        const Node& before = g.node(old);
        ValueId w = before.inputs[1];
        if (dep[size_t(w)]) return std::nullopt; // weights that vary with the data
        std::optional<WeightLayout> layout = conv2d_kernel_layout(
            before.attrs, g.node(before.inputs[0]).type, g.node(w).type.shape, before.type.shape);
        if (!layout) return std::nullopt; // an NCHW kernel: it reads W as it is
        std::string name(layout_name(*layout));
        std::vector<ValueId> inputs = n.inputs;
        inputs[1] = b.op(OpKind::PackConvWeight, {n.inputs[1]}, Attrs{{"layout", name}}, n.loc);
        Attrs conv = n.attrs;
        conv.set("layout", name);
        return b.op(OpKind::Conv2dPacked, inputs, conv, n.loc);
      });
  return {std::move(r.graph), r.changed};
}

} // namespace netc
