#include "passes/pipeline.h"

#include "ir/verifier.h"

#include <algorithm>

namespace netc {

const std::vector<std::string>& pipeline_stages() {
  // The autodiff, specialization, fusion and memory-planning stages join this
  // list as they land; each is verified and dumpable like "parse".
  static const std::vector<std::string> stages = {"parse"};
  return stages;
}

std::vector<StageResult> run_pipeline(Graph parsed, const std::string& last) {
  std::vector<StageResult> out;
  verify_or_throw(parsed, "parse");
  out.push_back({"parse", std::move(parsed)});
  if (last == "parse") return out;
  return out;
}

} // namespace netc
