// Passes that tidy a graph without changing what it computes. Each returns
// the new graph and whether it changed (STYLE.md #5).
#pragma once

#include "passes/pass.h"

namespace netc {

// Dead-code elimination: drops every node that no output, loss or update
// depends on. Autodiff builds gradients for every input of an op; the ones
// nobody needs (the gradient of the first layer's input) disappear here.
PassResult eliminate_dead_code(const Graph& g);

// Common-subexpression elimination: merges nodes with the same op, inputs,
// attributes and type, leaves included (gradient rules re-create constants
// and batch_size leaves freely; the forward value they recompute is shared).
PassResult eliminate_common_subexpressions(const Graph& g);

// Local algebraic rewrites to a fixpoint: x*1, x+0, x-0, x/1 -> x when the
// shape is unchanged; neg(neg(x)) -> x; reshape/broadcast to the same shape
// -> x; reshape(reshape(x)) -> reshape(x); arithmetic on scalar constants is
// folded.
PassResult simplify(const Graph& g);

// simplify, CSE and DCE until nothing changes.
PassResult clean_up(const Graph& g);

} // namespace netc
