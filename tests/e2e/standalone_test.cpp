// A compiled model is a standalone program (issue 13): copied alone into an
// empty folder and run with an empty environment (no LD_LIBRARY_PATH, no
// HOME, no netc cache), it still prints its info, benchmarks itself, trains
// on random data and on gzipped CSV data (zlib, linked in), and `ldd` lists
// only the C and C++ runtime: no libfmt, no libz, nothing of netc's build.
#include "run_netc.h"

#include <doctest/doctest.h>
#include <regex>
#include <set>

using namespace netc::test;

namespace {

struct Shell {
  int status;
  std::string out;
};

Shell shell(const std::string& cmd) {
  auto out = scratch_dir() / "shell.out";
  int raw = std::system((cmd + " >'" + out.string() + "' 2>&1").c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw), read_file(out)};
}

} // namespace

TEST_CASE("a compiled model runs alone in an empty folder and links only the C/C++ runtime") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto model = scratch_dir() / "small.nn";
  write_file(model, "model small\n"
                    "input x : f32[batch, 4]\n"
                    "label y : class(3)[batch]\n"
                    "logits = dense(relu(dense(x, 8)), 3)\n"
                    "output p = softmax(logits)\n"
                    "loss softmax_cross_entropy(logits, y)\n"
                    "train {\n  batch = 8\n  epochs = 1\n  optimizer = sgd(lr=0.1)\n}\n");
  auto built = scratch_dir() / "small";
  CommandResult c = run_netc("compile '" + model.string() + "' -o '" + built.string() + "'");
  REQUIRE_MESSAGE(c.status == 0, c.err);

  // Only the C and C++ runtime (libpthread and libdl where glibc still splits them).
  Shell ldd = shell("ldd '" + built.string() + "'");
  REQUIRE(ldd.status == 0);
  const std::set<std::string> allowed = {
      "linux-vdso.so.1", "libstdc++.so.6",  "libm.so.6",  "libgcc_s.so.1",
      "libc.so.6",       "libpthread.so.0", "libdl.so.2", "ld-linux-x86-64.so.2"};
  std::regex lib_name(R"(^\s*(?:\S*/)?(\S+))");
  std::istringstream lines(ldd.out);
  int count = 0;
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, lib_name)) continue;
    ++count;
    CHECK_MESSAGE(allowed.count(m[1].str()), "unexpected dependency: ", line);
  }
  CHECK(count >= 3);
  CHECK_MESSAGE(ldd.out.find("libfmt") == std::string::npos, ldd.out);
  CHECK_MESSAGE(ldd.out.find("libz") == std::string::npos, ldd.out);

  // An empty folder holding nothing but the binary (and, later, its data).
  auto alone = scratch_dir() / "alone";
  std::filesystem::create_directories(alone);
  std::filesystem::copy_file(built, alone / "small");
  std::string in = "cd '" + alone.string() + "' && env -i LD_LIBRARY_PATH= ";
  Shell info = shell(in + "./small info");
  CHECK_MESSAGE(info.status == 0, info.out);
  CHECK_MESSAGE(info.out.find("model small") != std::string::npos, info.out);
  Shell bench = shell(in + "./small bench --iters 3");
  CHECK_MESSAGE(bench.status == 0, bench.out);
  Shell random = shell(in + "./small train --random-data --steps 3 --save r.st");
  CHECK_MESSAGE(random.status == 0, random.out);
  CHECK_MESSAGE(random.out.find("step     3") != std::string::npos, random.out);
  CHECK(std::filesystem::exists(alone / "r.st"));

  // Real data, gzipped: the reader's zlib is inside the binary.
  std::string csv;
  for (int r = 0; r < 40; ++r)
    csv += std::to_string(r % 7 * 0.1) + "," + std::to_string(r % 5 * 0.2) + ",0.5," +
           std::to_string(r % 3 * 0.3) + "," + std::to_string(r % 3) + "\n";
  write_file(alone / "d.csv", csv);
  REQUIRE(shell("gzip -f '" + (alone / "d.csv").string() + "'").status == 0);
  Shell real = shell(in + "./small train --data csv:d.csv.gz --epochs 1");
  CHECK_MESSAGE(real.status == 0, real.out);
  CHECK_MESSAGE(real.out.find("test loss") != std::string::npos, real.out);
}
