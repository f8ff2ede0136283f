// `netc check` and `netc dump`.
#include "frontend/frontend.h"
#include "ir/dot.h"
#include "ir/printer.h"
#include "ir/summary.h"
#include "passes/pipeline.h"
#include "tools/commands.h"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

namespace netc {

int cmd_check(const std::string& model) {
  auto stages = run_pipeline(load_model(model), Mode::infer, "parse");
  const Graph& g = stages.back().graph;
  std::string text = format_summary(g, summarize(g));
  std::fputs(text.c_str(), stdout);
  return 0;
}

int cmd_dump(const DumpOptions& o) {
  Mode mode = o.mode == "infer" ? Mode::infer : Mode::train;
  const auto& names = pipeline_stages(mode);
  bool all = o.after == "all";
  if (!all && std::find(names.begin(), names.end(), o.after) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw UserError("", {},
                    fmt::format("unknown stage '{}' for --after; the {} stages are: {}, all",
                                o.after, o.mode, list));
  }
  auto stages = run_pipeline(load_model(o.model), mode, all ? names.back() : o.after);
  std::string text;
  for (const auto& s : stages) {
    if (!all && s.name != o.after) continue;
    if (o.format == "dot") {
      text += print_dot(s.graph);
    } else {
      if (all) text += fmt::format("// ---- after {} ----\n", s.name);
      text += s.listing.empty() ? print_graph(s.graph) : s.listing;
    }
  }
  std::fputs(text.c_str(), stdout);
  return 0;
}

} // namespace netc
