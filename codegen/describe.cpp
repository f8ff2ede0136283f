#include "codegen/describe.h"

#include "codegen/kernel.h"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace netc::codegen {

std::string describe_lowered_kernels(const CompiledProgram& program) {
  namespace fs = std::filesystem;
  fs::path tmp = fs::temp_directory_path() / fmt::format("netc-lower-{}.stmt", getpid());
  std::string out;
  for (const FusedKernel& k : program.fusion.kernels) {
    KernelSpec spec = program_kernel_spec(program, k);
    KernelOptions options;
    options.training = program.prefix == "train";
    LoweredKernel lk = lower_kernel(program.graph, spec, options);
    std::vector<Halide::Argument> args(lk.inputs.begin(), lk.inputs.end());
    args.push_back(lk.scalars.batch);
    args.push_back(lk.scalars.seed);
    args.push_back(lk.scalars.step);
    lk.pipeline.compile_to_lowered_stmt(tmp.string(), args, Halide::Text, lk.target);
    std::ifstream in(tmp);
    std::stringstream stmt;
    stmt << in.rdbuf();
    out += fmt::format("// ---- kernel {} ({}): {}\n", spec.name, schedule_name(lk.schedule),
                       lk.schedule_notes);
    out += stmt.str() + "\n";
  }
  fs::remove(tmp);
  return out;
}

} // namespace netc::codegen
