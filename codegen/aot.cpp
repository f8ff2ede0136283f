#include "codegen/aot.h"

#include "codegen/kernel.h"

#include <filesystem>

namespace netc::codegen {

namespace {

Halide::Target aot_target(const AotOptions& o) {
  // The runtime is compiled once, separately (compile_standalone_runtime);
  // each kernel must not carry its own copy.
  KernelOptions k;
  k.no_asserts = o.no_asserts;
  return kernel_target(k).with_feature(Halide::Target::NoRuntime);
}

void add_program(const CompiledProgram& c, const AotOptions& o, const std::string& dir,
                 std::vector<Halide::Module>& modules) {
  for (const FusedKernel& k : c.fusion.kernels) {
    KernelSpec spec = program_kernel_spec(c, k);
    KernelOptions options;
    options.training = c.prefix == "train";
    options.no_asserts = o.no_asserts;
    LoweredKernel lk = lower_kernel(c.graph, spec, options);
    std::vector<Halide::Argument> args(lk.inputs.begin(), lk.inputs.end());
    args.push_back(lk.scalars.batch);
    args.push_back(lk.scalars.seed);
    args.push_back(lk.scalars.step);
    Halide::Target t = aot_target(o);
    modules.push_back(lk.pipeline.compile_to_module(args, spec.name, t));
    if (o.emit_stmt || o.emit_asm) {
      std::map<Halide::OutputFileType, std::string> outs;
      if (o.emit_stmt)
        outs[Halide::OutputFileType::stmt_html] = dir + "/" + spec.name + ".stmt.html";
      if (o.emit_asm) outs[Halide::OutputFileType::assembly] = dir + "/" + spec.name + ".s";
      lk.pipeline.compile_to(outs, args, spec.name, t);
    }
  }
}

} // namespace

std::string aot_target_string() { return aot_target({}).to_string(); }

AotFiles compile_kernels_aot(const PlanBundle& bundle, const std::string& dir,
                             const AotOptions& options) {
  std::filesystem::create_directories(dir);
  std::vector<Halide::Module> modules;
  add_program(bundle.train, options, dir, modules);
  add_program(bundle.infer, options, dir, modules);
  AotFiles files{dir + "/netc_kernels.a", dir + "/netc_kernels.h", dir + "/halide_runtime.o"};
  Halide::Module linked = Halide::link_modules("netc_kernels", modules);
  linked.compile({{Halide::OutputFileType::static_library, files.static_library},
                  {Halide::OutputFileType::c_header, files.header}});
  Halide::compile_standalone_runtime(files.runtime_object, Halide::get_host_target());
  return files;
}

} // namespace netc::codegen
