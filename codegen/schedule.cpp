#include "codegen/schedule.h"

#include "ir/error.h"

#include <fmt/format.h>
#include <set>

namespace netc::codegen {

namespace {

using Halide::TailStrategy;
using Halide::Var;

// A parallel task should carry enough work to amortize the thread pool's
// dispatch (a few microseconds); 16K elements of a streaming kernel take
// about that long, and pipelines of 37-450 us still scaled ~2x on 2 threads
// (HALIDE-NOTES, AOT and JIT).
constexpr int64_t kTaskElements = 16384;
// The batch extent assumed when sizing tasks (training batches are 32-256).
constexpr int64_t kTypicalBatch = 64;

int64_t typical(int64_t d) { return d == kBatch ? kTypicalBatch : d; }

// Vectorizes the innermost dimension of a stage (pure or update) over its
// pure Var `inner` of IR extent e. Updates and producers use GuardWithIf: an
// update cannot shift inwards (HALIDE-NOTES pitfall 2) and a producer's
// rounded-up region could read past its inputs.
template <class S>
void vectorize_inner(S stage, const Halide::VarOrRVar& inner, int64_t e, const Halide::Type& t) {
  // A short dimension (4..16 lanes, such as the 14 row partials of a
  // per-channel reduction) is one whole vector: LLVM pads it to a zmm, where
  // an 8-lane vector plus a guarded tail would take two passes.
  int w = e == kBatch                   ? zmm_lanes(t)
          : e >= 4 && e <= zmm_lanes(t) ? static_cast<int>(e)
                                        : vector_width(e, t);
  if (w > 1) stage.vectorize(inner, w, TailStrategy::GuardWithIf);
}

// Whether pure Var v is a dimension of update u of f: a scatter's update
// (gather_backward: dtable(d, ids(p)) += ...) writes at a computed index
// along some axes, which then have no loop of their own to reorder or
// parallelize, only the RDom's.
bool update_has_var(const Halide::Func& f, int u, const Var& v) {
  for (const Halide::Expr& e : f.update_args(u))
    if (const auto* var = e.as<Halide::Internal::Variable>(); var && var->name == v.name())
      return true;
  return false;
}

// Places one stage computed at root: vectorized over its innermost pure
// dimension, with the reduction loops outside it (lanes walk independent
// outputs), parallel over its outermost pure dimension when there are two.
void schedule_root_stage(const Stage& st) {
  Halide::Func f = st.f;
  int r = st.shape.rank();
  f.compute_root();
  if (r == 0) return;
  std::vector<Var> v = ir_vars(r);
  Halide::Type t = f.output_types()[0];
  vectorize_inner(f, v[size_t(r - 1)], st.shape[r - 1], t);
  if (r >= 2) f.parallel(v[0]);
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    Halide::Stage s = f.update(u);
    std::vector<Halide::VarOrRVar> order{v[size_t(r - 1)]};
    for (const Halide::RVar& rv : f.rvars(u)) order.emplace_back(rv);
    for (int a = r - 2; a >= 0; --a)
      if (update_has_var(f, u, v[size_t(a)])) order.emplace_back(v[size_t(a)]);
    s.reorder(order);
    vectorize_inner(s, v[size_t(r - 1)], st.shape[r - 1], t);
    // Without v[0] the update's outer loops are its RDom's, which may write
    // one element twice (repeated ids): they stay serial.
    if (r >= 2 && update_has_var(f, u, v[0])) s.parallel(v[0]);
  }
}

// Places a row-local stage (leading batch dimension) inside the output's
// parallel chunk loop: each chunk computes the rows it needs.
void schedule_chunk_stage(const Stage& st, Halide::Func out, const Var& chunk) {
  Halide::Func f = st.f;
  int r = st.shape.rank();
  f.compute_at(out, chunk);
  std::vector<Var> v = ir_vars(r);
  Halide::Type t = f.output_types()[0];
  vectorize_inner(f, v[size_t(r - 1)], st.shape[r - 1], t);
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    Halide::Stage s = f.update(u);
    std::vector<Halide::VarOrRVar> order{v[size_t(r - 1)]};
    for (const Halide::RVar& rv : f.rvars(u)) order.emplace_back(rv);
    s.reorder(order);
    vectorize_inner(s, v[size_t(r - 1)], st.shape[r - 1], t);
  }
}

// Places a pool's or conv's zero-bordered copy of its source [N,C,H,W] (window.h
// padded_copy) at `chunk` of `out`, or at root parallel over the images:
// the zero fill and the interior copy both run along the image row in
// vectors, so the window's taps become dense loads from the copy (one
// image's copy is at most a few hundred KB, in L2).
void schedule_pool_pad(Halide::Func pad, const Shape& src, Halide::Func out,
                       const std::optional<Var>& chunk) {
  std::vector<Var> v = ir_vars(4);
  Halide::Type t = pad.output_types()[0];
  Halide::Stage copy = pad.update();
  if (chunk) {
    pad.compute_at(out, *chunk);
  } else {
    pad.compute_root().parallel(v[0]);
    copy.parallel(v[0]);
  }
  vectorize_inner(pad, v[3], src[3], t);
  vectorize_inner(copy, pad.rvars()[0], src[3], t);
}

// Whether node v's lowering made a zero-bordered copy of its input (window.h
// padded_copy: a pool, or an NCHW conv) that the generic schedule must place.
bool has_padded_copy(const KernelFuncs& k, ValueId v) {
  Halide::Func padded = k.ops.at(v).padded;
  return padded.defined() && padded.num_update_definitions() > 0;
}

bool has_op(const KernelFuncs& k, std::initializer_list<OpKind> kinds) {
  for (ValueId v : k.spec.nodes)
    for (OpKind op : kinds)
      if (k.g.node(v).op == op) return true;
  return false;
}

} // namespace

int zmm_lanes(const Halide::Type& t) { return 64 / std::max(1, t.bytes()); }

int vector_width(int64_t extent, const Halide::Type& t) {
  for (int w = zmm_lanes(t); w >= 4; w /= 2)
    if (extent >= w) return w;
  return 1;
}

std::optional<ValueId> only_node(const KernelFuncs& k, OpKind op) {
  std::optional<ValueId> found;
  for (ValueId v : k.spec.nodes)
    if (k.g.node(v).op == op) {
      if (found) return std::nullopt;
      found = v;
    }
  return found;
}

std::optional<ValueId> final_pool(const KernelFuncs& k) {
  if (k.spec.outputs.size() != 1) return std::nullopt;
  ValueId out = k.spec.outputs[0];
  // (An int8 conv's pool may be followed by the next layer's quantize.)
  if (k.g.node(out).op == OpKind::Quantize) out = k.g.node(out).inputs[0];
  if (!k.ops.count(out)) return std::nullopt;
  OpKind op = k.g.node(out).op;
  // (A pool with a zero-bordered copy of its input is left to the generic
  // schedule, which places the copy.)
  if ((op != OpKind::MaxPool && op != OpKind::AvgPool) || !k.ops.at(out).stages.empty() ||
      has_padded_copy(k, out))
    return std::nullopt;
  return out;
}

bool is_epilogue_kernel(const KernelFuncs& k, ValueId main, const Shape& shape,
                        std::string& why_not) {
  if (k.outputs.size() != 1) {
    why_not = fmt::format("{} outputs", k.outputs.size());
    return false;
  }
  std::optional<ValueId> pool = final_pool(k);
  if (!pool && k.g.node(k.spec.outputs[0]).type.shape != shape) {
    why_not = "the output's shape differs from the main op's";
    return false;
  }
  // Producers of the main op's operands are inlined into its reduction and
  // must be pure; the ops after it run on its register tile, so they must
  // be elementwise (a transpose or reshape would read other tiles).
  std::set<ValueId> after{main};
  for (ValueId v : k.spec.nodes) {
    if (v == main) continue;
    const Node& n = k.g.node(v);
    bool consumer = false;
    for (ValueId in : n.inputs) consumer = consumer || after.count(in);
    if (consumer) {
      after.insert(v);
      // (dequantize and quantize are elementwise too: per element, with
      // per-channel vectors like a bias.)
      bool pointwise = op_family(n.op) == "elementwise" || n.op == OpKind::Dequantize ||
                       n.op == OpKind::Quantize;
      if (!pointwise && v != pool) {
        why_not = fmt::format("%{} ({}) after the main op is not elementwise", v, op_name(n.op));
        return false;
      }
    }
    if (!k.ops.at(v).stages.empty() || has_padded_copy(k, v)) {
      why_not = fmt::format("%{} ({}) needs a stage of its own", v, op_name(n.op));
      return false;
    }
  }
  return true;
}

std::optional<Var> schedule_pure(Halide::Func f, const Shape& s, bool in_place,
                                 std::string& notes) {
  int r = s.rank();
  if (r == 0) return std::nullopt;
  std::vector<Var> v = ir_vars(r);
  Halide::Type t = f.output_types()[0];
  int64_t inner = s[r - 1];
  // Outputs may shift their last vector inwards when the extent allows it
  // (recomputing a few elements), unless the output is written over an
  // input; a batch-sized innermost dimension may be 1.
  if (inner == kBatch || in_place) {
    int w = inner == kBatch ? zmm_lanes(t) : vector_width(inner, t);
    if (w > 1) f.vectorize(v[size_t(r - 1)], w, TailStrategy::GuardWithIf);
  } else if (int w = vector_width(inner, t); w > 1) {
    f.vectorize(v[size_t(r - 1)], w, TailStrategy::ShiftInwards);
  }
  int64_t row = 1;
  for (int a = 1; a < r; ++a) row *= typical(s[a]);
  if (r == 1) {
    if (inner != kBatch && inner >= 2 * kTaskElements) {
      f.parallel(v[0], static_cast<int>(kTaskElements / vector_width(inner, t)),
                 TailStrategy::GuardWithIf);
      notes += fmt::format("; {} parallel in tasks of {} elements", f.name(), kTaskElements);
    }
    return std::nullopt;
  }
  if (s[0] != kBatch && s[0] * row < 2 * kTaskElements) return std::nullopt;
  int64_t rows = std::max<int64_t>(1, kTaskElements / row);
  Var chunk(v[0].name() + "_chunk"), rest(v[0].name() + "_rows");
  f.split(v[0], chunk, rest, static_cast<int>(rows), TailStrategy::GuardWithIf).parallel(chunk);
  notes += fmt::format("; {} parallel over chunks of {} rows", f.name(), rows);
  return chunk;
}

// Outputs of one shape computed in one loop nest, vector by vector: each
// output inlines the ops it reads, so in separate loops the ops they share
// ran once per output (an lstm step's h = o tanh(c) recomputed all of c's
// gates after the kernel had written f c). In one loop body LLVM computes the
// shared expressions once.
void fuse_sibling_outputs(const KernelFuncs& k, std::string& notes) {
  if (k.outputs.size() < 2) return;
  const Shape& s = k.g.node(k.spec.outputs[0]).type.shape;
  if (s.rank() == 0 || k.spec.writes_in_place) return;
  for (size_t i = 1; i < k.outputs.size(); ++i)
    if (k.g.node(k.spec.outputs[i]).type.shape != s ||
        k.outputs[i].output_types()[0] != k.outputs[0].output_types()[0])
      return;
  for (ValueId v : k.spec.nodes)
    if (!k.ops.at(v).stages.empty() || has_padded_copy(k, v)) return;
  Var inner = ir_vars(s.rank())[size_t(s.rank() - 1)];
  for (size_t i = 1; i < k.outputs.size(); ++i) {
    Halide::Func f = k.outputs[i];
    f.compute_with(k.outputs[0], inner);
  }
  notes += fmt::format("; {} outputs in one loop nest", k.outputs.size());
}

void schedule_generic(const KernelFuncs& k, std::string& notes) {
  std::vector<const Stage*> stages;
  for (ValueId v : k.spec.nodes)
    for (const Stage& st : k.ops.at(v).stages) stages.push_back(&st);
  std::optional<Var> chunk;
  for (size_t i = 0; i < k.outputs.size(); ++i) {
    std::optional<Var> c = schedule_pure(k.outputs[i], k.g.node(k.spec.outputs[i]).type.shape,
                                         k.spec.writes_in_place, notes);
    if (k.outputs.size() == 1) chunk = c;
  }
  fuse_sibling_outputs(k, notes);
  // Stages go inside the output's chunk loop only when all of them are
  // row-local; a root stage must never read a stage placed inside a loop.
  bool row_local = chunk.has_value() && k.g.node(k.spec.outputs[0]).type.shape[0] == kBatch;
  for (const Stage* st : stages)
    row_local = row_local && st->shape.rank() >= 1 && st->shape[0] == kBatch;
  for (const Stage* st : stages) {
    if (row_local)
      schedule_chunk_stage(*st, k.outputs[0], *chunk);
    else
      schedule_root_stage(*st);
  }
  int pads = 0;
  for (ValueId v : k.spec.nodes)
    if (has_padded_copy(k, v)) {
      const Shape& src = k.g.node(k.g.node(v).inputs[0]).type.shape;
      schedule_pool_pad(k.ops.at(v).padded, src, k.outputs[0], row_local ? chunk : std::nullopt);
      ++pads;
    }
  if (pads > 0) notes += fmt::format("; {} zero-bordered input copies", pads);
  // Sibling reductions over the batch (fusion merges sums of the same
  // shape): their per-image partial stages share one parallel loop over the
  // images, so each image's inputs come from memory once, then from cache.
  if (!row_local) {
    std::vector<const Stage*> per_image;
    for (const Stage* st : stages)
      if (st->shape.rank() >= 2 && st->shape[0] == kBatch && st->f.num_update_definitions() == 1 &&
          (per_image.empty() || st->shape == per_image[0]->shape))
        per_image.push_back(st);
    for (size_t i = 1; i < per_image.size(); ++i) {
      Halide::Func f = per_image[i]->f, first = per_image[0]->f;
      f.update(0).compute_with(first.update(0), ir_vars(1)[0]);
    }
    if (per_image.size() > 1)
      notes += fmt::format("; {} reductions in one pass over the images", per_image.size());
  }
  if (!stages.empty())
    notes +=
        fmt::format("; {} stage(s) {}", stages.size(), row_local ? "per row chunk" : "at root");
}

Schedule schedule_kernel(const KernelFuncs& k, std::string& notes) {
  switch (k.spec.kind) {
  case KernelKind::matmul:
    if (has_op(k, {OpKind::MatMulI8})) {
      if (schedule_matmul_i8(k, notes)) return Schedule::matmul;
      break;
    }
    if (schedule_matmul(k, notes)) return Schedule::matmul;
    break;
  case KernelKind::conv: {
    if (has_op(k, {OpKind::Conv2dI8})) {
      if (schedule_conv_i8(k, notes)) return Schedule::conv;
      break;
    }
    bool applied = has_op(k, {OpKind::Conv2d, OpKind::Conv2dPacked, OpKind::Conv2dBackwardInput})
                       ? schedule_conv(k, notes)
                       : schedule_conv_weight_grad(k, notes);
    if (applied) return Schedule::conv;
    break;
  }
  case KernelKind::elementwise:
  case KernelKind::reduction:
  case KernelKind::window: {
    bool stages = false;
    for (const auto& [v, l] : k.ops) stages = stages || !l.stages.empty();
    Schedule s = stages ? Schedule::staged : Schedule::pointwise;
    notes += schedule_name(s);
    schedule_generic(k, notes);
    return s;
  }
  }
  notes += "; generic";
  schedule_generic(k, notes);
  return Schedule::generic;
}

} // namespace netc::codegen
