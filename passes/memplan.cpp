#include "passes/memplan.h"

#include "ir/op_registry.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>

namespace netc {

namespace {

int64_t aligned_bytes(const TensorType& t, int64_t batch) {
  // f32 and i32 (i64 and f64 are computed as i32 and f32 at run time); the
  // quantized u8 and i8 take one byte.
  int64_t bytes = t.shape.elements(batch) * (t.dtype == DType::u8 || t.dtype == DType::i8 ? 1 : 4);
  return (bytes + 63) / 64 * 64;
}

bool is_persistent_leaf(OpKind k) {
  return k == OpKind::Param || k == OpKind::State || k == OpKind::Hyper;
}

// A kernel that reads every input at the index it writes (no data movement),
// so writing an update over the value it reads is safe.
bool is_pure_map(const Graph& g, const FusedKernel& k) {
  if (k.kind != KernelKind::elementwise) return false;
  for (ValueId v : k.nodes) {
    OpKind op = g.node(v).op;
    if (op == OpKind::Transpose || op == OpKind::Concat || op == OpKind::Slice ||
        op == OpKind::Pad || op == OpKind::Reshape)
      return false;
  }
  return true;
}

// Codegen computes an in-place kernel's outputs one after another, and its
// later outputs read earlier ones from their buffers (codegen/kernel.cpp).
// So the kernel may write `update` over `leaf` only if no other output reads
// the leaf itself rather than through an output: it might run after the
// leaf was overwritten.
bool leaf_read_only_through(const Graph& g, const FusedKernel& kernel, ValueId update,
                            const std::string& leaf) {
  std::set<ValueId> inside(kernel.nodes.begin(), kernel.nodes.end());
  std::set<ValueId> outputs(kernel.outputs.begin(), kernel.outputs.end());
  for (ValueId o : kernel.outputs) {
    if (o == update) continue;
    std::vector<ValueId> todo{o};
    std::set<ValueId> seen;
    while (!todo.empty()) {
      ValueId v = todo.back();
      todo.pop_back();
      if (!seen.insert(v).second) continue;
      const Node& n = g.node(v);
      if (is_persistent_leaf(n.op) && n.attrs.get_str("name", "") == leaf) return false;
      if (v != o && outputs.count(v)) continue; // read from its buffer
      if (!inside.count(v)) continue;
      for (ValueId in : n.inputs) todo.push_back(in);
    }
  }
  return true;
}

} // namespace

MemoryPlan plan_memory(const Graph& g, const FusionPlan& fusion, int64_t max_batch) {
  MemoryPlan plan;
  int end = static_cast<int>(fusion.kernels.size());
  std::map<ValueId, size_t> index;
  auto buffer = [&](ValueId v, int first) -> PlannedBuffer& {
    auto [it, fresh] = index.try_emplace(v, plan.buffers.size());
    if (fresh)
      plan.buffers.push_back({v, aligned_bytes(g.node(v).type, max_batch), 0, first, first, ""});
    return plan.buffers[it->second];
  };
  std::map<ValueId, ValueId> source; // views: the buffer they read
  for (const FusionPlan::View& v : fusion.views) source[v.value] = v.source;
  auto through_view = [&](ValueId v) {
    auto it = source.find(v);
    return it == source.end() ? v : it->second;
  };
  for (ValueId v : g.leaves(OpKind::Input)) buffer(v, -1);
  for (int k = 0; k < end; ++k) {
    const FusedKernel& kernel = fusion.kernels[size_t(k)];
    for (ValueId v : kernel.outputs) buffer(v, k);
    for (ValueId v : kernel.inputs)
      if (!is_persistent_leaf(g.node(v).op)) {
        PlannedBuffer& b = buffer(through_view(v), -1);
        b.last = std::max(b.last, k);
      }
  }
  auto until_end = [&](ValueId v) {
    if (auto it = index.find(v); it != index.end()) plan.buffers[it->second].last = end;
  };
  for (const auto& o : g.outputs) until_end(o.value);
  if (g.loss) until_end(g.loss->value);
  for (const auto& u : g.updates) until_end(u.value);
  // At inference, weights-only results are kept from one call to the next
  // (the runtime recomputes them only when the weights change): alive from
  // before the first kernel to after the last.
  if (g.updates.empty())
    for (const FusedKernel& kernel : fusion.kernels)
      if (kernel.weights_only)
        for (ValueId v : kernel.outputs) {
          PlannedBuffer& b = plan.buffers[index.at(v)];
          b.first = -1;
          b.last = end;
        }

  // Updates written in place.
  std::map<ValueId, int> kernel_of;
  for (int k = 0; k < end; ++k)
    for (ValueId v : fusion.kernels[size_t(k)].outputs) kernel_of[v] = k;
  for (const auto& u : g.updates) {
    auto k = kernel_of.find(u.value);
    if (k == kernel_of.end()) continue;
    const FusedKernel& kernel = fusion.kernels[size_t(k->second)];
    bool sink = std::all_of(kernel.outputs.begin(), kernel.outputs.end(), [&](ValueId o) {
      return std::any_of(g.updates.begin(), g.updates.end(),
                         [&](const NamedValue& x) { return x.value == o; });
    });
    bool read_elsewhere_later = false;
    for (int later = k->second + 1; later < end; ++later)
      for (ValueId i : fusion.kernels[size_t(later)].inputs)
        read_elsewhere_later =
            read_elsewhere_later || g.node(i).attrs.get_str("name", "") == u.name;
    if (sink && is_pure_map(g, kernel) && !read_elsewhere_later &&
        leaf_read_only_through(g, kernel, u.value, u.name)) {
      PlannedBuffer& b = plan.buffers[index.at(u.value)];
      b.in_place_of = u.name;
      b.offset = -1;
    }
  }

  // Greedy placement, largest first: the lowest offset that overlaps no
  // placed buffer alive at the same time.
  std::vector<size_t> order;
  for (size_t i = 0; i < plan.buffers.size(); ++i)
    if (plan.buffers[i].in_place_of.empty()) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return plan.buffers[a].bytes > plan.buffers[b].bytes;
  });
  std::vector<size_t> placed;
  for (size_t i : order) {
    PlannedBuffer& b = plan.buffers[i];
    plan.without_reuse += b.bytes;
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t j : placed) {
      const PlannedBuffer& o = plan.buffers[j];
      if (o.first <= b.last && b.first <= o.last) busy.push_back({o.offset, o.offset + o.bytes});
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (auto [lo, hi] : busy) {
      if (offset + b.bytes <= lo) break;
      offset = std::max(offset, hi);
    }
    b.offset = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + b.bytes);
    placed.push_back(i);
  }
  // Views share their source's bytes, placed and alive as the source is.
  for (const FusionPlan::View& v : fusion.views) {
    PlannedBuffer view = plan.buffers[index.at(v.source)];
    view.value = v.value;
    view.bytes = aligned_bytes(g.node(v.value).type, max_batch);
    view.view_of = v.source;
    plan.buffers.push_back(view);
  }
  return plan;
}

bool writes_in_place(const MemoryPlan& plan, const FusedKernel& kernel) {
  return std::any_of(plan.buffers.begin(), plan.buffers.end(), [&](const PlannedBuffer& b) {
    return !b.in_place_of.empty() &&
           std::find(kernel.outputs.begin(), kernel.outputs.end(), b.value) != kernel.outputs.end();
  });
}

std::string print_memory_plan(const Graph& g, const FusionPlan& fusion, const MemoryPlan& plan) {
  std::string out =
      fmt::format("arena {} bytes ({} without reuse), planned at the largest batch; {} kernels\n\n",
                  plan.arena_bytes, plan.without_reuse, fusion.kernels.size());
  out += fmt::format("{:>10} {:>10}  {:>5} {:>5}  {}\n", "offset", "bytes", "from", "to", "value");
  std::vector<const PlannedBuffer*> sorted;
  for (const auto& b : plan.buffers) sorted.push_back(&b);
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const PlannedBuffer* a, const PlannedBuffer* b) { return a->offset < b->offset; });
  for (const PlannedBuffer* b : sorted) {
    const Node& n = g.node(b->value);
    std::string what = fmt::format("%{} {} {}", b->value, op_name(n.op), to_string(n.type));
    if (n.attrs.has("name")) what += " " + n.attrs.get_str("name");
    std::string where = b->in_place_of.empty() ? fmt::format("{:>10}", b->offset)
                                               : fmt::format("{:>10}", "in place");
    if (!b->in_place_of.empty()) what += fmt::format("  (written over {})", b->in_place_of);
    if (b->view_of >= 0) what += fmt::format("  (a view of %{})", b->view_of);
    out += fmt::format(
        "{} {:>10}  {:>5} {:>5}  {}\n", where, b->bytes,
        b->first < 0 ? std::string("in") : std::to_string(b->first),
        b->last >= int(fusion.kernels.size()) ? std::string("end") : std::to_string(b->last), what);
  }
  return out;
}

} // namespace netc
