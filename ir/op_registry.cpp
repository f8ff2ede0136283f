#include "ir/op_registry.h"

#include "ir/op_traits.h"

#include <array>
#include <fmt/format.h>

namespace netc {

namespace {

struct OpInfo {
  std::string_view name;
  std::string_view family;
  OpTraits traits;
};

constexpr std::array<OpInfo, kNumOps> kOpInfo = {{
#define NETC_OP(name, mnemonic, family, role, kernel, surface)                                     \
  {mnemonic, #family, {FusionRole::role, KernelKind::kernel, surface}},
#include "ir/ops.def"
#undef NETC_OP
}};

// Gathers the family tables into one array indexed by OpKind. An op defined
// twice is a compiler bug caught at first use; an op not defined yet is
// reported when it is used (and by the registry completeness test), so an op
// can be added to ops.def before all of its rules exist.
std::array<const OpDef*, kNumOps> build_table() {
  std::array<const OpDef*, kNumOps> table{};
  for (auto family :
       {leaf_op_defs, elementwise_op_defs, reduce_op_defs, shape_op_defs, matmul_op_defs,
        conv_op_defs, conv_backward_op_defs, resize_op_defs, gather_op_defs, norm_op_defs,
        activation_op_defs, loss_op_defs, quant_op_defs, packed_conv_op_defs}) {
    for (const OpDef& def : family()) {
      auto i = static_cast<size_t>(def.kind);
      if (table[i]) internal_error(fmt::format("op '{}' is defined twice", kOpInfo[i].name));
      table[i] = &def;
    }
  }
  return table;
}

} // namespace

std::string_view op_name(OpKind op) { return kOpInfo[static_cast<size_t>(op)].name; }
std::string_view op_family(OpKind op) { return kOpInfo[static_cast<size_t>(op)].family; }

const OpTraits& op_traits(OpKind op) { return kOpInfo[static_cast<size_t>(op)].traits; }

std::string_view kernel_kind_name(KernelKind k) {
  switch (k) {
  case KernelKind::elementwise: return "elementwise";
  case KernelKind::reduction: return "reduction";
  case KernelKind::window: return "window";
  case KernelKind::matmul: return "matmul";
  case KernelKind::conv: return "conv";
  }
  internal_error("bad kernel kind");
}

std::optional<OpKind> op_from_name(std::string_view mnemonic) {
  for (size_t i = 0; i < kOpInfo.size(); ++i)
    if (kOpInfo[i].name == mnemonic) return static_cast<OpKind>(i);
  return std::nullopt;
}

static const std::array<const OpDef*, kNumOps>& table() {
  static const std::array<const OpDef*, kNumOps> t = build_table();
  return t;
}

bool op_is_defined(OpKind kind) { return table()[static_cast<size_t>(kind)] != nullptr; }

const OpDef& op_def(OpKind kind) {
  const OpDef* def = table()[static_cast<size_t>(kind)];
  if (!def) internal_error(fmt::format("op '{}' has no definition", op_name(kind)));
  return *def;
}

} // namespace netc
