// `netc check` and `netc dump`.
#include "codegen/describe.h"
#include "ir/dot.h"
#include "ir/printer.h"
#include "ir/summary.h"
#include "passes/pipeline.h"
#include "passes/plan.h"
#include "tools/commands.h"
#include "tools/model_file.h"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

namespace netc {

int cmd_check(const std::string& model) {
  Graph g = run_pipeline(load_any_model(model), Mode::infer, {.last = "parse"}).graph;
  std::string text = format_summary(g, summarize(g));
  std::fputs(text.c_str(), stdout);
  return 0;
}

// `--after all` prints every stage under a header; a stage whose pass changed
// nothing prints "(unchanged)" instead of the previous stage's text again.
// A stage named explicitly (`--after cleanup`) prints its graph even when
// unchanged: the user asked for the IR at that point, and the text form is
// what they pipe into a file, a diff or the text parser, where a bare
// "(unchanged)" would be useless; `--after all` shows which stage it equals.
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
  std::string text;
  auto header = [&](std::string_view stage) {
    if (all) text += fmt::format("// ---- after {} ----\n", stage);
  };
  PipelineOptions options{.last = lower ? "memplan" : o.after};
  options.observe = [&](const StageView& stage) {
    if (!all && stage.name != o.after) return;
    if (o.format == "dot") {
      text += print_dot(graph_with_grads(stage.state));
      return;
    }
    header(stage.name);
    text += all && !stage.changed ? "(unchanged)\n" : stage.print(stage.state);
  };
  PipelineState finished = run_pipeline(load_any_model(o.model), mode, options);
  if (lower && o.format != "dot") {
    header("lower");
    text += codegen::describe_lowered_kernels(compiled_program(mode, std::move(finished)));
  }
  std::fputs(text.c_str(), stdout);
  return 0;
}

} // namespace netc
