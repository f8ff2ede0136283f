#include "passes/layout.h"

#include "ir/ops/packed_conv.h"
#include "ir/ops/window.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>

namespace netc {

namespace {

// A vector of output channels at least (codegen's tiles are 16-lane zmm).
constexpr int64_t kMinChannels = 16;

bool is_conv(OpKind op) { return op == OpKind::Conv2d || op == OpKind::Conv2dPacked; }

bool is_pool(OpKind op) {
  return op == OpKind::MaxPool || op == OpKind::AvgPool || op == OpKind::GlobalAvgPool;
}

// The kernel's only convolution, if it has exactly one and no pool.
std::optional<ValueId> only_conv(const Graph& g, const FusedKernel& k) {
  std::optional<ValueId> conv;
  for (ValueId v : k.nodes) {
    OpKind op = g.node(v).op;
    if (is_pool(op)) return std::nullopt;
    if (!is_conv(op)) continue;
    if (conv) return std::nullopt;
    conv = v;
  }
  return conv;
}

std::string value_list(const std::vector<ValueId>& values) {
  std::string s;
  for (ValueId v : values) s += fmt::format("{}%{}", s.empty() ? "" : ", ", v);
  return s;
}

} // namespace

ChannelsLastConv channels_last_conv(const Graph& g, const FusedKernel& k) {
  if (k.kind != KernelKind::conv) return ChannelsLastConv::none;
  std::optional<ValueId> cv = only_conv(g, k);
  if (!cv) return ChannelsLastConv::none;
  const Node& conv = g.node(*cv);
  const TensorType& x = g.node(conv.inputs[0]).type;
  const Shape& out = conv.type.shape;
  if (x.dtype != DType::f32 || out[1] < kMinChannels) return ChannelsLastConv::none;
  // (The NHWC and the Winograd kernels both compute channels innermost.)
  if (conv.op == OpKind::Conv2dPacked) return ChannelsLastConv::nhwc;
  const Shape& ws = g.node(conv.inputs[1]).type.shape;
  if (conv2d_kernel_layout(conv.attrs, x, ws, out)) return ChannelsLastConv::nhwc;
  conv_geometry::Window win = conv_geometry::conv_window(conv.attrs, ws);
  bool depthwise = win.groups == x.shape[1] && ws[1] == 1 && ws[0] == win.groups;
  bool one_input_channel = win.groups == 1 && x.shape[1] == 1;
  if (win.dilation.h == 1 && win.dilation.w == 1 && (depthwise || one_input_channel))
    return ChannelsLastConv::direct;
  return ChannelsLastConv::none;
}

FusionPlan store_channels_last(const Graph& g, FusionPlan plan) {
  // Who writes and who reads each stored value.
  std::map<ValueId, size_t> writer;
  std::map<ValueId, std::vector<size_t>> readers;
  for (size_t i = 0; i < plan.kernels.size(); ++i) {
    for (ValueId v : plan.kernels[i].outputs) writer[v] = i;
    for (ValueId v : plan.kernels[i].inputs) readers[v].push_back(i);
  }
  std::set<ValueId> pinned; // the user's values and views' sources keep their layout
  for (const NamedValue& o : g.outputs) pinned.insert(o.value);
  if (g.loss) pinned.insert(g.loss->value);
  for (const NamedValue& u : g.updates) pinned.insert(u.value);
  for (const FusionPlan::View& view : plan.views) pinned.insert(view.source);

  std::vector<ChannelsLastConv> kind;
  for (const FusedKernel& k : plan.kernels) kind.push_back(channels_last_conv(g, k));
  // How kernel r reads v: every use must be dense with channels innermost.
  // A convolution's input, or a global average pool (summed across channel
  // vectors), in any kernel; an elementwise op (a residual add in a conv's
  // epilogue) only where the kernel's own output is channels-last too
  // (`epilogue` lists those readers, checked below).
  std::map<ValueId, std::vector<size_t>> epilogue;
  auto readable = [&](size_t r, ValueId v) {
    for (ValueId n : plan.kernels[r].nodes) {
      const Node& node = g.node(n);
      for (size_t a = 0; a < node.inputs.size(); ++a) {
        if (node.inputs[a] != v) continue;
        if (node.op == OpKind::GlobalAvgPool) continue;
        if (kind[r] == ChannelsLastConv::none) return false;
        if (is_conv(node.op) && a == 0) continue;
        if (op_family(node.op) != "elementwise") return false;
        epilogue[v].push_back(r);
      }
    }
    return true;
  };

  std::set<ValueId> chosen;
  for (const auto& [v, w] : writer) {
    const TensorType& t = g.node(v).type;
    const FusedKernel& k = plan.kernels[w];
    if (t.shape.rank() != 4 || t.dtype != DType::f32 || pinned.count(v) ||
        kind[w] == ChannelsLastConv::none || k.outputs.size() != 1 || k.weights_only)
      continue;
    auto it = readers.find(v);
    if (it == readers.end()) continue;
    if (std::all_of(it->second.begin(), it->second.end(), [&](size_t r) { return readable(r, v); }))
      chosen.insert(v);
  }
  // An epilogue reader must write channels-last itself: drop values until
  // every one that is read in an epilogue is read by such a kernel (each
  // drop can only cause more).
  for (bool dropped = true; dropped;) {
    dropped = false;
    for (auto it = chosen.begin(); it != chosen.end();) {
      bool ok = true;
      for (size_t r : epilogue[*it]) {
        const std::vector<ValueId>& outs = plan.kernels[r].outputs;
        ok = ok && outs.size() == 1 && chosen.count(outs[0]);
      }
      it = ok ? std::next(it) : chosen.erase(it);
      dropped = dropped || !ok;
    }
  }

  plan.channels_last.assign(chosen.begin(), chosen.end());
  std::map<size_t, std::vector<ValueId>> written, read;
  for (ValueId v : chosen) {
    written[writer.at(v)].push_back(v);
    for (size_t r : readers.at(v)) read[r].push_back(v);
  }
  for (auto& [i, values] : written)
    plan.kernels[i].notes.push_back(fmt::format(
        "stores {} channels-last: only channels-last kernels read it", value_list(values)));
  for (auto& [i, values] : read)
    plan.kernels[i].notes.push_back(
        fmt::format("reads {} channels-last (dense vectors of channels)", value_list(values)));
  return plan;
}

} // namespace netc
