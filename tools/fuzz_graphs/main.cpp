// netc-fuzz-graphs: the differential test of random models (docs/testing.md,
// "Differential testing on random models"). Each .nn file is parsed and run
// through the oracles of oracles.h; scripts/fuzz-graphs generates the files.
//
//   netc-fuzz-graphs [--steps N] [--no-unfused] [--unfused-train] [--parse-only] [--quiet]
//                    FILE.nn...
//
// A file may fix its batch and seed in a comment line "# fuzz: batch=B seed=S"
// (the generator writes one), so that a failing case reruns as it failed.
// Exit status: 0 when every file passed, 1 when any mismatched, 2 when any
// was rejected by the parser (a generator bug) and none mismatched.
#include "frontend/frontend.h"
#include "ir/op.h"
#include "passes/pipeline.h"
#include "tools/fuzz_graphs/oracles.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

// The "# fuzz: batch=B seed=S" line, if any.
void read_case_line(const std::string& text, netc::fuzz::CaseOptions& o) {
  static const std::regex line("# fuzz: batch=([0-9]+) seed=([0-9]+)");
  std::smatch m;
  if (std::regex_search(text, m, line)) {
    o.batch = std::stoll(m[1]);
    o.seed = std::stoull(m[2]);
  }
}

// Ops of the parsed model, its training step and its inference graph (the
// pipeline's output:
// gradients and optimizer updates included).
void count_ops(const netc::Graph& parsed, std::vector<int64_t>& counts) {
  std::vector<netc::Graph> graphs = {parsed, netc::inference_graph(parsed)};
  if (parsed.loss) graphs.push_back(netc::training_step(parsed));
  for (const netc::Graph& g : graphs)
    for (const netc::Node& n : g.nodes) ++counts[size_t(n.op)];
}

void print_coverage(const std::vector<int64_t>& counts) {
  std::string seen, missing;
  for (int k = 0; k < netc::kNumOps; ++k) {
    std::string_view name = netc::op_name(netc::OpKind(k));
    if (counts[size_t(k)])
      seen += fmt::format(" {}:{}", name, counts[size_t(k)]);
    else
      missing += fmt::format(" {}", name);
  }
  fmt::print("ops seen:{}\nops never generated:{}\n", seen, missing);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"netc-fuzz-graphs: random models, compiled vs the reference interpreter"};
  std::vector<std::string> files;
  netc::fuzz::CaseOptions defaults;
  bool no_unfused = false, quiet = false, parse_only = false, coverage = false;
  app.add_option("files", files, "model files (.nn)")->required();
  app.add_option("--steps", defaults.steps, "optimizer steps compared (0: forward only)");
  app.add_flag("--no-unfused", no_unfused, "skip the inference kernels with fusion off");
  app.add_flag("--unfused-train", defaults.unfused_train,
               "also compare one training step with fusion off");
  app.add_flag("--inject-fault", defaults.inject_fault,
               "perturb one kernel's output in every compiled graph (the oracles must report it)");
  app.add_flag("--quiet", quiet, "print failures and the summary only");
  app.add_flag("--parse-only", parse_only,
               "only parse each model (checks the generator: no kernels, no oracles)");
  app.add_flag("--coverage", coverage,
               "with --parse-only: count the ops of the models' training and inference graphs "
               "and list the ops of ir/ops.def that none has");
  CLI11_PARSE(app, argc, argv);
  std::vector<int64_t> op_counts(netc::kNumOps, 0);
  defaults.unfused_infer = !no_unfused;

  auto start = std::chrono::steady_clock::now();
  int passed = 0, failed = 0, rejected = 0;
  size_t kernels = 0;
  for (const std::string& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    netc::fuzz::CaseOptions o = defaults;
    read_case_line(text.str(), o);
    netc::Graph parsed;
    try {
      parsed = netc::parse_model(text.str(), file);
    } catch (const std::exception& e) {
      ++rejected;
      fmt::print("REJECTED {} (a generator bug): {}\n", file, e.what());
      continue;
    }
    if (parse_only) {
      ++passed;
      if (coverage) count_ops(parsed, op_counts);
      continue;
    }
    netc::fuzz::CaseReport r = netc::fuzz::check_model(parsed, o);
    kernels += r.kernels;
    if (r.findings.empty()) {
      ++passed;
      if (!quiet) fmt::print("ok {} ({} kernels, {:.2f} s)\n", file, r.kernels, r.seconds);
    } else {
      ++failed;
      fmt::print("MISMATCH {} ({:.2f} s); rerun: {} {}\n", file, r.seconds, argv[0], file);
      for (const auto& f : r.findings) fmt::print("  [{}] {}\n", f.oracle, f.detail);
    }
    std::fflush(stdout);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("fuzz-graphs: {} models, {} passed, {} mismatched, {} rejected; {} kernels compiled "
             "in {:.1f} s\n",
             files.size(), passed, failed, rejected, kernels, seconds);
  if (coverage) print_coverage(op_counts);
  return failed ? 1 : rejected ? 2 : 0;
}
