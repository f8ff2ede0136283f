// The subcommands of `netc`. Each returns the process exit status; user errors
// propagate as netc::UserError and are reported by main().
#pragma once

#include <cstdint>
#include <string>

namespace netc {

struct DumpOptions {
  std::string model;
  std::string after = "parse"; // a stage name or "all"
  std::string format = "text"; // text | dot
};

struct RunOptions {
  std::string model;
  std::string action;          // forward
  bool random_init = false;
  int64_t batch = 2;
  uint64_t seed = 1;
  std::string mode = "infer";  // infer | train
};

int cmd_check(const std::string& model);
int cmd_dump(const DumpOptions& o);
int cmd_run(const RunOptions& o);

} // namespace netc
