// `netc check` and `netc dump`.
#include "codegen/describe.h"
#include "frontend/frontend.h"
#include "ir/dot.h"
#include "ir/printer.h"
#include "ir/summary.h"
#include "passes/pipeline.h"
#include "passes/plan.h"
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
  std::vector<std::string> names = pipeline_stages(mode);
  names.push_back("lower"); // past the passes: codegen's view of each kernel
  bool all = o.after == "all";
  if (!all && std::find(names.begin(), names.end(), o.after) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw UserError("", {},
                    fmt::format("unknown stage '{}' for --after; the {} stages are: {}, all",
                                o.after, o.mode, list));
  }
  bool lower = all || o.after == "lower";
  Graph parsed = load_model(o.model);
  auto stages = run_pipeline(parsed, mode, lower ? "memplan" : o.after);
  if (lower && o.format != "dot") {
    PlanBundle bundle = build_plan(parsed);
    const CompiledProgram& program = mode == Mode::train ? bundle.train : bundle.infer;
    stages.push_back({"lower", stages.back().graph, codegen::describe_lowered_kernels(program)});
  }
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
