// The op table is complete (STYLE.md #1): every op of ops.def, leaves
// included, has its rules. One walk over the table in place of per-family
// lists, so that a new op needs no test edit to be checked. It lives with
// the codegen tests because the lowering table is codegen's.
#include "codegen/lowering.h"
#include "ir/gradient.h"
#include "ir/op_registry.h"
#include "ir/op_traits.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <span>
#include <string>
#include <vector>

using namespace netc;

namespace {

// What the check reads of one op: its OpDef (nullptr: not defined) and its
// Halide lowering (nullptr: none).
struct OpRules {
  const OpDef* def = nullptr;
  codegen::LowerRule lower = nullptr;
};

bool is_leaf(OpKind k) {
  FusionRole r = op_traits(k).role;
  return r == FusionRole::named_leaf || r == FusionRole::inline_leaf;
}

// The gaps of a table indexed by OpKind, one line each, naming the op:
//   - an OpDef, filed under its own kind;
//   - a shape rule, or else a leaf (whose type is declared, and which has no inputs);
//   - the three reference implementations (f32, f64, and f80 for gradient checks);
//   - a gradient rule, or a reason why the op is not differentiable (leaves
//     need neither: a gradient ends at a leaf);
//   - a Halide lowering (leaves too: a named leaf reads its buffer, an
//     inline leaf is an Expr);
//   - a surface function, if any, that takes as many inputs as the op.
std::vector<std::string> op_table_gaps(std::span<const OpRules> table) {
  std::vector<std::string> gaps;
  if (table.size() != size_t(kNumOps))
    gaps.push_back(fmt::format("the table has {} rows for {} ops", table.size(), kNumOps));
  for (size_t i = 0; i < std::min(table.size(), size_t(kNumOps)); ++i) {
    auto kind = static_cast<OpKind>(i);
    auto gap = [&](std::string_view what) {
      gaps.push_back(fmt::format("{}: {}", op_name(kind), what));
    };
    const OpDef* def = table[i].def;
    if (!table[i].lower) gap("no Halide lowering");
    if (!def) {
      gap("no OpDef");
      continue;
    }
    if (def->kind != kind) gap(fmt::format("its row is {}'s", op_name(def->kind)));
    bool leaf = is_leaf(kind);
    if (leaf && (def->shape || def->max_inputs != 0))
      gap("a leaf with inputs or a shape rule (its type is declared)");
    if (!leaf && !def->shape) gap("no shape rule");
    if (!leaf && def->max_inputs == 0) gap("no inputs, but not a leaf in ops.def");
    if (!def->ref_f32 || !def->ref_f64 || !def->ref_f80)
      gap("a reference implementation is missing");
    if (!def->flops) gap("no FLOPs rule");
    bool differentiable = def->grad && def->grad != &no_gradient;
    if (!leaf && !differentiable && def->not_differentiable.empty())
      gap("no gradient rule, and no reason why it is not differentiable");
    if (differentiable && !def->not_differentiable.empty())
      gap("a gradient rule, and a reason why it is not differentiable");
    std::string_view surface = op_traits(kind).surface;
    int params = surface.empty() ? 0 : 1 + int(std::count(surface.begin(), surface.end(), ','));
    if (!surface.empty() &&
        (params < def->min_inputs || (def->max_inputs >= 0 && params > def->max_inputs)))
      gap(fmt::format("its surface function takes {} inputs", params));
  }
  return gaps;
}

std::vector<OpRules> registered_rules() {
  std::vector<OpRules> table;
  for (int i = 0; i < kNumOps; ++i) {
    auto kind = static_cast<OpKind>(i);
    table.push_back({op_is_defined(kind) ? &op_def(kind) : nullptr, codegen::find_lowering(kind)});
  }
  return table;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "\n  " + l;
  return out;
}

} // namespace

TEST_CASE("op table: every op has a shape rule, references, a gradient rule or a reason, and a "
          "lowering") {
  std::vector<OpRules> table = registered_rules();
  std::vector<std::string> gaps = op_table_gaps(table);
  INFO("gaps:" << joined(gaps));
  CHECK(gaps.empty());
  // The ops that are not differentiable, each with its reason: a change here
  // is a decision, not an accident.
  std::vector<std::string> without;
  for (int i = 0; i < kNumOps; ++i) {
    const OpDef* def = table[size_t(i)].def;
    if (def && !def->not_differentiable.empty()) without.emplace_back(op_name(def->kind));
  }
  // The quantization ops (passes/quantize.cpp) exist only in int8 inference
  // graphs, the prepacked-weights ops (passes/prepack.cpp) only in inference graphs.
  CHECK(joined(without) ==
        joined({"step", "conv2d_backward_weight", "maxpool_backward", "avgpool_backward",
                "upsample_backward", "dropout_mask", "one_hot", "quantize", "quantize_weight",
                "weight_scale", "weight_colsum", "matmul_i8", "conv2d_i8", "dequantize",
                "pack_conv_weight", "conv2d_packed"}));
}

TEST_CASE("op table: the check names each rule a broken table lacks") {
  std::vector<OpRules> table = registered_rules();
  // Copies of real rows, each with one piece taken out.
  std::deque<OpDef> copies; // stable addresses: the table points into it
  auto broken = [&](OpKind k) -> OpDef& {
    copies.push_back(op_def(k));
    table[size_t(k)].def = &copies.back();
    return copies.back();
  };
  broken(OpKind::Exp).shape = nullptr;
  broken(OpKind::Relu).grad = nullptr;
  broken(OpKind::Step).not_differentiable = {}; // no_gradient without a reason
  broken(OpKind::Add).ref_f80 = nullptr;
  broken(OpKind::Param).shape = op_def(OpKind::Exp).shape;
  table[size_t(OpKind::Tanh)].lower = nullptr;
  table[size_t(OpKind::Constant)].lower = nullptr; // leaves need a lowering too
  table[size_t(OpKind::Sqrt)].def = nullptr;

  std::vector<std::string> gaps = op_table_gaps(table);
  INFO("gaps:" << joined(gaps));
  CHECK(joined(gaps) ==
        joined({"param: a leaf with inputs or a shape rule (its type is declared)",
                "constant: no Halide lowering", "exp: no shape rule", "sqrt: no OpDef",
                "relu: no gradient rule, and no reason why it is not differentiable",
                "tanh: no Halide lowering", "add: a reference implementation is missing",
                "step: no gradient rule, and no reason why it is not differentiable"}));

  table.pop_back();
  CHECK(op_table_gaps(table).front() ==
        fmt::format("the table has {} rows for {} ops", kNumOps - 1, kNumOps));
}
