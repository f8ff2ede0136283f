#include "passes/fusion.h"

#include "passes/fusion_values.h"

#include "ir/op_registry.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>

namespace netc {

namespace {

using fusion::describe;
using fusion::Role;
using fusion::role_of;
using fusion::ValueClasses;

struct Group {
  KernelKind kind;
  Shape domain;               // the iteration domain pointwise members share
  std::vector<ValueId> nodes; // members (generators excluded)
  std::set<int> ancestors;    // groups this one depends on, transitively
  std::vector<std::string> notes;
  bool open_epilogue = true; // an anchor accepts epilogues until one refuses
  bool dead = false;         // merged into another group
};

class Fuser {
public:
  Fuser(const Graph& g, const FusionOptions& options)
      : g_(g), options_(options), vc_(g), group_(size_t(g.size()), -1) {}

  FusionPlan run() {
    if (!options_.fuse) return run_unfused();
    for (ValueId v = 0; v < g_.size(); ++v) {
      Role r = role_of(g_.node(v).op);
      if (r == Role::named_leaf || r == Role::inline_leaf || vc_.inlined(v) ||
          vc_.view_source(v) >= 0)
        continue;
      if (r == Role::pointwise)
        place_pointwise(v);
      else
        place_anchor(v);
    }
    merge_pointwise_chains();
    merge_sibling_reductions();
    merge_update_kernels();
    return emit();
  }

private:
  // One kernel per stored value. Update-only kernels still go last (sink_),
  // unmerged: the executor's in-place updates need that order.
  FusionPlan run_unfused() {
    for (ValueId v = 0; v < g_.size(); ++v) {
      Role r = role_of(g_.node(v).op);
      if (r == Role::named_leaf || r == Role::inline_leaf || vc_.inlined(v) ||
          vc_.view_source(v) >= 0)
        continue;
      int gi = new_group(v, r == Role::pointwise ? KernelKind::elementwise
                                                 : op_traits(g_.node(v).op).kernel);
      groups_[size_t(gi)].notes.push_back("fusion off");
    }
    for (int gi = 0; gi < int(groups_.size()); ++gi)
      if (updates_only(gi)) sink_.insert(gi);
    return emit();
  }

  // The group computing the buffer that i is read from (a view's source's).
  int group_of(ValueId i) const {
    ValueId src = (vc_.view_source(i) >= 0 ? vc_.view_source(i) : i);
    return group_[size_t(src)];
  }

  int new_group(ValueId v, KernelKind kind) {
    groups_.push_back(Group{kind, g_.node(v).type.shape, {}, {}, {}, true, false});
    add(int(groups_.size()) - 1, v);
    return int(groups_.size()) - 1;
  }

  void add(int gi, ValueId v) {
    group_[size_t(v)] = gi;
    groups_[size_t(gi)].nodes.push_back(v);
    for (ValueId i : vc_.stored_inputs(v)) {
      int h = group_of(i);
      if (h < 0 || h == gi) continue;
      groups_[size_t(gi)].ancestors.insert(h);
      groups_[size_t(gi)].ancestors.insert(groups_[size_t(h)].ancestors.begin(),
                                           groups_[size_t(h)].ancestors.end());
    }
  }

  // Would putting v into group gi create a cycle? Only if one of v's other
  // inputs comes from a group that depends on gi.
  bool creates_cycle(int gi, ValueId v) const {
    for (ValueId i : vc_.stored_inputs(v)) {
      int h = group_of(i);
      if (h >= 0 && h != gi && groups_[size_t(h)].ancestors.count(gi)) return true;
    }
    return false;
  }

  // The uses of p other than by `except`, looking through recomputed values
  // (a bias add recomputed on the way to a ReLU epilogue is not a use).
  int users_outside(ValueId p, ValueId except) const {
    int n = vc_.external(p) ? 1 : 0;
    for (ValueId u : vc_.users(p))
      if (u != except) n += vc_.recomputed(u) ? users_outside(u, except) : 1;
    return n;
  }

  void place_pointwise(ValueId v) {
    const Node& n = g_.node(v);
    std::string refusal;
    std::set<ValueId> sources = vc_.stored_inputs(v);
    for (ValueId p : sources) {
      int gi = group_[size_t(p)];
      if (gi < 0) continue;
      Group& G = groups_[size_t(gi)];
      bool anchor_group = G.kind != KernelKind::elementwise;
      std::string why;
      if (n.type.shape != G.domain)
        why = fmt::format("the shape changes from {} to {}", to_string(G.domain),
                          to_string(n.type.shape));
      else if (anchor_group && !G.open_epilogue)
        why = "the kernel's epilogue already ended";
      else if (anchor_group && users_outside(p, v) > 0)
        why = fmt::format("{} is also used elsewhere, so it must be stored before the epilogue",
                          describe(g_, p));
      else if (creates_cycle(gi, v))
        why = "another input is computed from this kernel's result";
      if (why.empty()) {
        G.notes.push_back(fmt::format("fused {} ({})", describe(g_, v),
                                      anchor_group ? "epilogue" : "pointwise chain"));
        add(gi, v);
        return;
      }
      if (anchor_group) G.open_epilogue = false;
      if (refusal.empty())
        refusal = fmt::format("{} not fused into the kernel of {}: {}", describe(g_, v),
                              describe(g_, p), why);
    }
    // Horizontal fusion: join a pointwise kernel over the same domain that
    // already reads one of v's inputs (the optimizer's two moments both read
    // the gradient), so the input is read once and the results stay together.
    for (ValueId p : sources)
      for (ValueId u : vc_.users(p)) {
        int gi = u < v ? group_[size_t(u)] : -1;
        if (gi < 0 || groups_[size_t(gi)].kind != KernelKind::elementwise ||
            groups_[size_t(gi)].domain != n.type.shape || creates_cycle(gi, v))
          continue;
        groups_[size_t(gi)].notes.push_back(
            fmt::format("fused {} (shares the input %{})", describe(g_, v), p));
        add(gi, v);
        return;
      }
    int gi = new_group(v, KernelKind::elementwise);
    if (!refusal.empty()) groups_[size_t(gi)].notes.push_back(refusal);
  }

  // A small pool over non-overlapping windows (2x2 stride 2) whose input is
  // a convolution's result (with its epilogue), used by nothing else,
  // becomes the end of the conv's kernel: the conv's output never reaches
  // memory, only the pooled one (a quarter of it). At inference only, in
  // practice: in training the conv's result also feeds batch-norm
  // statistics or the ReLU mask of the backward pass.
  bool pools_conv_output(ValueId v) {
    const Node& n = g_.node(v);
    if (n.op != OpKind::MaxPool && n.op != OpKind::AvgPool) return false;
    auto ints = [&](const char* name) {
      return n.attrs.has(name) ? n.attrs.get_ints(name) : std::vector<int64_t>{};
    };
    std::vector<int64_t> kernel = ints("kernel"), stride = ints("stride"), pad = ints("pad");
    if (kernel.size() != 2 || kernel[0] * kernel[1] > 9) return false;
    if (!stride.empty() && stride != kernel) return false;
    if (!pad.empty() && (pad[0] != 0 || pad[1] != 0)) return false;
    std::set<ValueId> sources = vc_.stored_inputs(v);
    if (sources.size() != 1) return false;
    int h = group_[size_t(*sources.begin())];
    if (h < 0) return false;
    Group& H = groups_[size_t(h)];
    auto has = [&](OpKind op) {
      return std::any_of(H.nodes.begin(), H.nodes.end(),
                         [&](ValueId m) { return g_.node(m).op == op; });
    };
    bool int8 = has(OpKind::Conv2dI8);
    if (H.kind != KernelKind::conv || !(has(OpKind::Conv2d) || has(OpKind::Conv2dPacked) || int8) ||
        !H.open_epilogue || !only_feeds(h, v) || g_.node(n.inputs[0]).type.shape != H.domain)
      return false;
    H.notes.push_back(fmt::format("fused {} (the pool ends the conv's kernel)", describe(g_, v)));
    // An int8 conv's kernel also takes the next layer's quantize after the
    // pool (the schedule's final_pool allows one): only u8 reaches memory.
    H.open_epilogue = int8;
    if (int8) H.domain = n.type.shape;
    add(h, v);
    return true;
  }

  void place_anchor(ValueId v) {
    const Node& n = g_.node(v);
    if (pools_conv_output(v)) return;
    KernelKind kind = op_traits(n.op).kernel;
    int gi = new_group(v, kind);
    Group& G = groups_[size_t(gi)];
    for (ValueId p : n.inputs) {
      int h = group_[size_t(p)];
      if (h < 0 || h == gi) continue;
      Group& H = groups_[size_t(h)];
      if (H.dead || H.kind != KernelKind::elementwise) continue;
      std::string why;
      if (kind == KernelKind::matmul || kind == KernelKind::conv)
        why = "matmul and conv operands are read from memory in packed tiles";
      else if (!only_feeds(h, v))
        why = "its values are used elsewhere too";
      if (!why.empty()) {
        G.notes.push_back(fmt::format("prologue {} not fused: {}", describe(g_, p), why));
        continue;
      }
      // Absorb the producer group: its nodes become this kernel's prologue.
      G.notes.push_back(
          fmt::format("fused {} (prologue, {} ops)", describe(g_, p), H.nodes.size()));
      for (ValueId m : H.nodes) group_[size_t(m)] = gi;
      G.nodes.insert(G.nodes.end(), H.nodes.begin(), H.nodes.end());
      G.ancestors.insert(H.ancestors.begin(), H.ancestors.end());
      H.nodes.clear();
      H.dead = true;
    }
    std::sort(G.nodes.begin(), G.nodes.end());
    // Recompute the ancestors without the absorbed groups.
    G.ancestors.erase(gi);
    for (auto it = G.ancestors.begin(); it != G.ancestors.end();)
      it = groups_[size_t(*it)].dead ? G.ancestors.erase(it) : std::next(it);
  }

  // True if every value of group h that anything outside h uses is used only by v.
  bool only_feeds(int h, ValueId v) const {
    for (ValueId m : groups_[size_t(h)].nodes) {
      if (vc_.external(m)) return false;
      for (ValueId u : vc_.users(m))
        if (group_[size_t(u)] != h && u != v && !vc_.generator(u)) return false;
    }
    return true;
  }

  // Moves group `from` into group `into` (both live) and keeps every group's
  // ancestor set exact.
  void merge(int into, int from, const std::string& note) {
    Group& I = groups_[size_t(into)];
    Group& F = groups_[size_t(from)];
    I.notes.push_back(note);
    I.notes.insert(I.notes.end(), F.notes.begin(), F.notes.end());
    for (ValueId m : F.nodes) group_[size_t(m)] = into;
    I.nodes.insert(I.nodes.end(), F.nodes.begin(), F.nodes.end());
    std::sort(I.nodes.begin(), I.nodes.end());
    I.ancestors.insert(F.ancestors.begin(), F.ancestors.end());
    I.ancestors.erase(into);
    I.ancestors.erase(from);
    F.nodes.clear();
    F.dead = true;
    for (Group& G : groups_) {
      if (!G.ancestors.count(from) && !G.ancestors.count(into)) continue;
      G.ancestors.erase(from);
      G.ancestors.insert(into);
      G.ancestors.insert(I.ancestors.begin(), I.ancestors.end());
    }
  }

  // Pointwise kernels over the same domain where one feeds the other become
  // one (a chain that started at a leaf, like the optimizer's beta * V, meets
  // the chain of the gradient it is added to), unless another kernel lies
  // between them.
  void merge_pointwise_chains() {
    for (bool changed = true; changed;) {
      changed = false;
      for (int c = 0; c < int(groups_.size()) && !changed; ++c) {
        if (groups_[size_t(c)].dead || groups_[size_t(c)].kind != KernelKind::elementwise) continue;
        for (int p : std::set<int>(groups_[size_t(c)].ancestors)) {
          const Group& P = groups_[size_t(p)];
          const Group& C = groups_[size_t(c)];
          if (P.dead || P.kind != KernelKind::elementwise || P.domain != C.domain || !feeds(p, c))
            continue;
          bool between = std::any_of(C.ancestors.begin(), C.ancestors.end(), [&](int x) {
            return x != p && groups_[size_t(x)].ancestors.count(p);
          });
          if (between) continue;
          merge(c, p,
                fmt::format("merged the pointwise kernel of {} (same shape {})",
                            describe(g_, P.nodes.back()), to_string(P.domain)));
          changed = true;
          break;
        }
      }
    }
  }

  // Sibling reductions: sums over the same axes of same-shaped values that
  // do not depend on each other become one kernel, which the schedule runs
  // in one pass over the batch (each image's data is read once from memory
  // for all of them). Batch norm's backward pass takes three such sums of
  // the same two tensors.
  void merge_sibling_reductions() {
    for (bool changed = true; changed;) {
      changed = false;
      for (int a = 0; a < int(groups_.size()) && !changed; ++a) {
        std::vector<ValueId> a_sums = sums_of(a);
        if (a_sums.empty()) continue;
        for (int b = a + 1; b < int(groups_.size()) && !changed; ++b) {
          const Group &A = groups_[size_t(a)], &B = groups_[size_t(b)];
          if (A.ancestors.count(b) || B.ancestors.count(a)) continue;
          std::vector<ValueId> b_sums = sums_of(b);
          if (b_sums.empty() || !same_reduction(a_sums[0], b_sums[0])) continue;
          merge(a, b,
                fmt::format("merged the sibling reduction {} (same axes over {})",
                            describe(g_, b_sums[0]),
                            to_string(g_.node(g_.node(b_sums[0]).inputs[0]).type.shape)));
          changed = true;
        }
      }
    }
  }

  // The sums of a reduction group (possibly merged already), or none unless
  // sums are all its anchors.
  std::vector<ValueId> sums_of(int gi) const {
    const Group& G = groups_[size_t(gi)];
    std::vector<ValueId> sums;
    if (G.dead || G.kind != KernelKind::reduction) return sums;
    for (ValueId m : G.nodes) {
      OpKind op = g_.node(m).op;
      if (role_of(op) != Role::anchor) continue;
      if (op != OpKind::ReduceSum && op != OpKind::ReduceMean) return {};
      sums.push_back(m);
    }
    return sums;
  }

  bool same_reduction(ValueId a, ValueId b) const {
    const Node &na = g_.node(a), &nb = g_.node(b);
    const Shape &sa = g_.node(na.inputs[0]).type.shape, &sb = g_.node(nb.inputs[0]).type.shape;
    return sa == sb && sa.has_batch() && na.type.shape == nb.type.shape &&
           na.attrs.get_ints("axes") == nb.attrs.get_ints("axes") &&
           na.attrs.get_int("keepdims", 0) == nb.attrs.get_int("keepdims", 0);
  }

  bool feeds(int p, int c) const {
    for (ValueId m : groups_[size_t(c)].nodes)
      for (ValueId i : vc_.stored_inputs(m))
        if (group_of(i) == p) return true;
    return false;
  }

  bool updates_only(int gi) const {
    const Group& G = groups_[size_t(gi)];
    if (G.dead || G.kind != KernelKind::elementwise || G.nodes.empty()) return false;
    std::set<ValueId> updated;
    for (const auto& u : g_.updates) updated.insert(u.value);
    for (ValueId m : G.nodes) {
      for (ValueId u : vc_.users(m))
        if (group_[size_t(u)] != gi) return false;
      bool is_output = std::any_of(g_.outputs.begin(), g_.outputs.end(),
                                   [&](const NamedValue& o) { return o.value == m; }) ||
                       (g_.loss && g_.loss->value == m);
      if (is_output) return false;
    }
    return true;
  }

  // Update kernels have no consumers, so any two of the same domain can be
  // one kernel without a cycle.
  void merge_update_kernels() {
    std::map<std::vector<int64_t>, int> by_domain;
    for (int gi = 0; gi < int(groups_.size()); ++gi) {
      if (!updates_only(gi)) continue;
      sink_.insert(gi);
      auto [it, fresh] = by_domain.try_emplace(groups_[size_t(gi)].domain.dims, gi);
      if (fresh) continue;
      merge(it->second, gi,
            fmt::format("merged the update kernel of {} (same shape {})",
                        describe(g_, groups_[size_t(gi)].nodes.back()),
                        to_string(groups_[size_t(gi)].domain)));
      sink_.erase(gi);
    }
  }

  // Adds v's generator inputs (transitively) and inline leaves to `nodes`.
  void pull_in(ValueId v, std::set<ValueId>& nodes, std::set<ValueId>& inputs) const {
    for (ValueId i : g_.node(v).inputs) {
      Role r = role_of(g_.node(i).op);
      if (r == Role::inline_leaf || vc_.inlined(i)) {
        if (nodes.insert(i).second) pull_in(i, nodes, inputs);
      } else if (group_[size_t(i)] < 0 || !nodes.count(i)) {
        inputs.insert(i);
      }
    }
  }

  // The groups that compute from persistent leaves (params, state, hypers)
  // and other such groups alone, over no batch dimension.
  std::set<int> find_weights_only(const std::vector<int>& live) const {
    std::set<int> out;
    for (bool changed = true; changed;) {
      changed = false;
      for (int gi : live) {
        if (out.count(gi)) continue;
        bool only = true;
        for (ValueId m : groups_[size_t(gi)].nodes) {
          if (g_.node(m).type.shape.has_batch()) only = false;
          for (ValueId i : vc_.stored_inputs(m)) {
            int h = group_of(i);
            OpKind op = g_.node(i).op;
            bool persistent = op == OpKind::Param || op == OpKind::State || op == OpKind::Hyper;
            if (op == OpKind::BatchSize) only = false; // varies with the batch
            if (h == gi || persistent || op == OpKind::Constant) continue;
            if (h < 0 || !out.count(h)) only = false;
          }
        }
        if (only) {
          out.insert(gi);
          changed = true;
        }
      }
    }
    return out;
  }

  FusionPlan emit() {
    // Order the kernels by their dependencies (creation order breaks ties),
    // update-only kernels last.
    std::vector<int> live;
    for (int gi = 0; gi < int(groups_.size()); ++gi)
      if (!groups_[size_t(gi)].dead) live.push_back(gi);
    std::vector<int> order;
    std::set<int> done;
    auto ready = [&](int gi) {
      for (ValueId m : groups_[size_t(gi)].nodes)
        for (ValueId i : vc_.stored_inputs(m)) {
          int h = group_of(i);
          if (h >= 0 && h != gi && !done.count(h)) return false;
        }
      return true;
    };
    std::set<int> weights_only = find_weights_only(live);
    // Classes in order: weights-only kernels first (inference only), then the
    // rest, then the update-only kernels.
    auto cls = [&](int gi) {
      if (sink_.count(gi)) return 2;
      return g_.updates.empty() && weights_only.count(gi) ? 0 : 1;
    };
    for (int c : {0, 1, 2})
      for (bool progress = true; progress;) {
        progress = false;
        for (int gi : live)
          if (!done.count(gi) && cls(gi) == c && ready(gi)) {
            order.push_back(gi);
            done.insert(gi);
            progress = true;
            break; // restart: keep creation order among the ready ones
          }
      }
    if (order.size() != live.size()) internal_error("fusion produced a cycle between kernels");

    // Nodes and inputs first; a value is written when another kernel reads it
    // (a generator pulled into that kernel may read it too) or the graph
    // returns it.
    FusionPlan plan;
    std::set<ValueId> read;
    for (int gi : order) {
      const Group& G = groups_[size_t(gi)];
      std::set<ValueId> nodes(G.nodes.begin(), G.nodes.end()), inputs;
      for (ValueId m : G.nodes) pull_in(m, nodes, inputs);
      for (ValueId m : std::set<ValueId>(nodes))
        if (vc_.inlined(m)) pull_in(m, nodes, inputs);
      for (ValueId m : nodes) inputs.erase(m);
      for (ValueId i : inputs) read.insert((vc_.view_source(i) >= 0 ? vc_.view_source(i) : i));
      FusedKernel k;
      k.kind = G.kind;
      k.name = fmt::format("k{}_{}", plan.kernels.size(), kernel_kind_name(G.kind));
      k.nodes.assign(nodes.begin(), nodes.end());
      k.inputs.assign(inputs.begin(), inputs.end());
      k.notes = G.notes;
      k.weights_only = weights_only.count(gi) > 0;
      plan.kernels.push_back(std::move(k));
    }
    for (size_t i = 0; i < order.size(); ++i)
      for (ValueId m : groups_[size_t(order[i])].nodes)
        if (vc_.external(m) || read.count(m)) plan.kernels[i].outputs.push_back(m);
    for (ValueId v = 0; v < g_.size(); ++v)
      if (vc_.view_source(v) >= 0) plan.views.push_back({v, vc_.view_source(v)});
    return plan;
  }

  const Graph& g_;
  FusionOptions options_;
  ValueClasses vc_;
  std::vector<int> group_;
  std::vector<Group> groups_;
  std::set<int> sink_;
};

} // namespace

FusionPlan fuse(const Graph& g, const FusionOptions& options) { return Fuser(g, options).run(); }

bool FusionPlan::is_channels_last(ValueId v) const {
  return std::binary_search(channels_last.begin(), channels_last.end(), v);
}

std::string print_fusion(const Graph& g, const FusionPlan& plan) {
  auto value = [&](ValueId v) {
    const Node& n = g.node(v);
    std::string name = n.attrs.get_str("name", "");
    std::string s = name.empty() ? fmt::format("%{}", v) : fmt::format("%{} {}", v, name);
    return plan.is_channels_last(v) ? s + " (channels-last)" : s;
  };
  std::string out = fmt::format("{} kernels\n", plan.kernels.size());
  for (const FusedKernel& k : plan.kernels) {
    std::string ops, ins, outs;
    for (ValueId v : k.nodes) {
      OpKind op = g.node(v).op;
      if (op == OpKind::Constant || op == OpKind::BatchSize) continue;
      ops += fmt::format("{}{} %{}", ops.empty() ? "" : ", ", op_name(op), v);
    }
    for (ValueId v : k.inputs) ins += (ins.empty() ? "" : ", ") + value(v);
    for (ValueId v : k.outputs) outs += (outs.empty() ? "" : ", ") + value(v);
    out += fmt::format("\nkernel {} ({})\n  ops:     {}\n  reads:   {}\n  writes:  {}\n", k.name,
                       kernel_kind_name(k.kind), ops, ins, outs);
    for (const auto& note : k.notes) out += "  - " + note + "\n";
  }
  for (const FusionPlan::View& v : plan.views)
    out += fmt::format("\nview %{} = %{} as {} (no kernel: the same bytes)\n", v.value, v.source,
                       to_string(g.node(v.value).type));
  return out;
}

} // namespace netc
