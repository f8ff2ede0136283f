#include "ir/memory_check.h"

#include "ir/op.h"
#include "ir/user_input.h"

#include <fmt/format.h>
#include <unistd.h>

namespace netc {

namespace {

std::string value_text(const Graph& g, ValueId v) {
  const Node& n = g.node(v);
  std::string name = n.attrs.get_str("name", "");
  return fmt::format("{}{} {}", name.empty() ? "a value of " : "",
                     name.empty() ? op_name(n.op) : name, to_string(n.type));
}

} // namespace

void check_tensor_sizes(const Graph& g, const SizeLimits& limits) {
  uint64_t param_bytes = 0, largest_param = 0;
  ValueId largest = -1;
  for (ValueId v = 0; v < g.size(); ++v) {
    const Node& n = g.node(v);
    int64_t elements = n.type.shape.elements(limits.batch); // < 2^48 * batch: checked_shape
    auto bytes = static_cast<uint64_t>(elements) * static_cast<uint64_t>(limits.bytes_per_element);
    if (limits.max_elements > 0 && elements > limits.max_elements)
      g.fail(v, fmt::format("{} has {} elements at batch {}, more than the {} a tensor can have "
                            "({})",
                            value_text(g, v), elements, limits.batch, limits.max_elements,
                            limits.max_elements_why));
    if (limits.memory_bytes > 0 && bytes > limits.memory_bytes)
      g.fail(v, fmt::format("{} needs {} at batch {}, more than this machine's {} of memory",
                            value_text(g, v), byte_size_text(bytes), limits.batch,
                            byte_size_text(limits.memory_bytes)));
    if (n.op == OpKind::Param || n.op == OpKind::State) {
      param_bytes += bytes;
      if (bytes > largest_param) {
        largest_param = bytes;
        largest = v;
      }
    }
  }
  if (limits.memory_bytes > 0 && param_bytes > limits.memory_bytes && largest >= 0)
    g.fail(largest,
           fmt::format("the model's parameters and state need {} ({} alone {}), more "
                       "than this machine's {} of memory",
                       byte_size_text(param_bytes), value_text(g, largest),
                       byte_size_text(largest_param), byte_size_text(limits.memory_bytes)));
}

uint64_t physical_memory_bytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

} // namespace netc
