// OpKind: the enum generated from ops.def, and its names.
#pragma once

#include <optional>
#include <string_view>

namespace netc {

enum class OpKind {
#define NETC_OP(name, ...) name,
#include "ir/ops.def"
#undef NETC_OP
};

inline constexpr int kNumOps = 0
#define NETC_OP(...) +1
#include "ir/ops.def"
#undef NETC_OP
    ;

std::string_view op_name(OpKind op);   // the IR mnemonic, "matmul"
std::string_view op_family(OpKind op); // "elementwise"
std::optional<OpKind> op_from_name(std::string_view mnemonic);

} // namespace netc
