// Runs the built `netc` binary the way a user does and captures what it says.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace netc::test {

struct CommandResult {
  int status = -1; // exit status; 128+N when killed by signal N
  std::string out;
  std::string err;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// A scratch directory unique to this process, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("netc-e2e-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  static const struct Cleanup {
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup;
  return dir;
}

// Runs `netc ARGS` in the source directory (so examples/ paths resolve).
inline CommandResult run_netc(const std::string& args) {
  auto out = scratch_dir() / "stdout", err = scratch_dir() / "stderr";
  std::string cmd = "cd '" NETC_SOURCE_DIR "' && timeout 120 '" NETC_BINARY "' " + args + " >'" +
                    out.string() + "' 2>'" + err.string() + "' </dev/null";
  int raw = std::system(cmd.c_str());
  CommandResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// Runs a shell command (a compiled model, a pipeline), capturing stdout and
// stderr together in `out`.
inline CommandResult run_shell(const std::string& cmd) {
  auto out = scratch_dir() / "shell.out";
  int raw = std::system((cmd + " >'" + out.string() + "' 2>&1 </dev/null").c_str());
  CommandResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = read_file(out);
  return r;
}

} // namespace netc::test
