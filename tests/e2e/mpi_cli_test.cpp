// Data-parallel training over Open MPI (issue 14, docs/mpi.md), as a user
// runs it: `netc compile MODEL --mpi -o OUT`, then `mpirun -np N OUT train`.
// One thread per rank, on localhost. Built only where CMake found MPI.
#ifdef NETC_HAVE_MPI

#include "run_netc.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <fcntl.h>
#include <regex>
#include <sys/file.h>
#include <thread>
#include <vector>

using namespace netc::test;

namespace {

struct Shell {
  int status;
  std::string out;
};

Shell shell(const std::string& cmd) {
  auto out = scratch_dir() / "mpi-shell.out";
  int raw = std::system((cmd + " >'" + out.string() + "' 2>&1 </dev/null").c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw), read_file(out)};
}

// Compiles a model of tests/e2e/models with --mpi once for all the test
// processes of this netc build: into build/mpi-test-models/<netc's size and
// time>/, under an flock, so that parallel ctest cases wait for one compile
// instead of each compiling again.
std::string compiled(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path netc = NETC_BINARY;
  auto dir = netc.parent_path().parent_path() / "mpi-test-models" /
             (std::to_string(fs::file_size(netc)) + "-" +
              std::to_string(fs::last_write_time(netc).time_since_epoch().count()));
  fs::create_directories(dir);
  auto exe = dir / name;
  int lock = open((dir / "lock").c_str(), O_CREAT | O_RDWR, 0644);
  REQUIRE(lock >= 0);
  flock(lock, LOCK_EX);
  if (!fs::exists(exe)) {
    setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
    auto tmp = dir / (name + ".tmp");
    CommandResult c =
        run_netc("compile tests/e2e/models/" + name + ".nn --mpi -o '" + tmp.string() + "'");
    if (c.status == 0) fs::rename(tmp, exe);
    flock(lock, LOCK_UN);
    close(lock);
    REQUIRE_MESSAGE(c.status == 0, c.err);
    return exe.string();
  }
  flock(lock, LOCK_UN);
  close(lock);
  return exe.string();
}

// mpirun on this machine only: root needs --allow-run-as-root; two ranks
// may share a core (--oversubscribe); single-copy shared memory (CMA) is
// off because containers often forbid the ptrace it needs.
// One thread per rank: NETC_THREADS, set for every child.
std::string mpirun(int ranks, const char* limit = "timeout 120 ") {
  setenv("NETC_THREADS", "1", 1);
  std::string cmd = std::string(limit) + "mpirun -np " + std::to_string(ranks) +
                    " --oversubscribe --mca btl_vader_single_copy_mechanism none";
  if (geteuid() == 0) cmd += " --allow-run-as-root";
  return cmd + " ";
}

// The loss of every "step N  loss X" line.
std::vector<double> losses(const std::string& out) {
  std::vector<double> v;
  std::regex line(R"(step\s+\d+\s+loss\s+(\S+))");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator();
       ++it)
    v.push_back(std::stod((*it)[1].str()));
  return v;
}

std::vector<double> train(const std::string& exe, int ranks, const std::string& args) {
  Shell r = shell(mpirun(ranks) + "'" + exe + "' train --random-data " + args);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  return losses(r.out);
}

void check_same_losses(const std::vector<double>& a, const std::vector<double>& b,
                       size_t expected) {
  REQUIRE(a.size() == expected);
  REQUIRE(b.size() == expected);
  for (size_t i = 0; i < expected; ++i)
    CHECK_MESSAGE(std::abs(a[i] - b[i]) <= 1e-6 * std::abs(a[i]), "step ", i + 1, ": ", a[i],
                  " vs ", b[i]);
}

// The processes whose parent is `parent` (from /proc: no procps needed).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // stat: "PID (COMM) STATE PPID ...", COMM may hold spaces: read after the last ')'.
    std::string stat = read_file(entry.path() / "stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == parent) found.push_back(std::stoi(name));
  }
  return found;
}

} // namespace

TEST_CASE("mpi: 1 and 2 ranks give the same losses over 20 steps (mlp with l2)") {
  std::string exe = compiled("mpi_mlp");
  std::vector<double> one = train(exe, 1, "--steps 20");
  std::vector<double> two = train(exe, 2, "--steps 20");
  check_same_losses(one, two, 20);
  CHECK(two.back() < two.front()); // it learns
}

TEST_CASE("mpi: 1 and 2 ranks give the same losses over 20 steps (cnn)") {
  std::string exe = compiled("mpi_cnn");
  check_same_losses(train(exe, 1, "--steps 20"), train(exe, 2, "--steps 20"), 20);
}

// 128 = 42 + 43 + 43 rows, weighted 42/128 and 43/128; at batch 2 rank 0
// has no row at all, so rank 1 carries the l2 term.
TEST_CASE("mpi: 3 ranks with uneven shards, and a rank without rows, match one process") {
  std::string exe = compiled("mpi_mlp");
  check_same_losses(train(exe, 1, "--steps 20"), train(exe, 3, "--steps 20"), 20);
  check_same_losses(train(exe, 1, "--steps 20 --batch 2"), train(exe, 3, "--steps 20 --batch 2"),
                    20);
}

TEST_CASE("mpi: two runs at 2 ranks write bitwise the same checkpoint") {
  std::string exe = compiled("mpi_mlp");
  auto a = scratch_dir() / "repeat_a.safetensors", b = scratch_dir() / "repeat_b.safetensors";
  std::vector<double> la = train(exe, 2, "--steps 10 --save '" + a.string() + "'");
  std::vector<double> lb = train(exe, 2, "--steps 10 --save '" + b.string() + "'");
  CHECK(la == lb);
  std::string ca = read_file(a), cb = read_file(b);
  REQUIRE(ca.size() > 100000);
  CHECK(ca == cb);
}

TEST_CASE("mpi: a run saved at 2 ranks resumes at 1 rank and the reverse") {
  std::string exe = compiled("mpi_mlp");
  std::vector<double> straight = train(exe, 1, "--steps 20");
  REQUIRE(straight.size() == 20);
  auto c2 = scratch_dir() / "at2.safetensors", c1 = scratch_dir() / "at1.safetensors";
  train(exe, 2, "--steps 10 --save '" + c2.string() + "'");
  std::vector<double> rest1 = train(exe, 1, "--steps 20 --resume '" + c2.string() + "'");
  train(exe, 1, "--steps 10 --save '" + c1.string() + "'");
  std::vector<double> rest2 = train(exe, 2, "--steps 20 --resume '" + c1.string() + "'");
  std::vector<double> tail(straight.begin() + 10, straight.end());
  check_same_losses(tail, rest1, 10);
  check_same_losses(tail, rest2, 10);
}

TEST_CASE("mpi: batch norm uses each rank's statistics, and the ranks stay one model") {
  std::string exe = compiled("mpi_bn");
  std::vector<double> one = train(exe, 1, "--steps 5");
  auto a = scratch_dir() / "bn_a.safetensors", b = scratch_dir() / "bn_b.safetensors";
  std::vector<double> two = train(exe, 2, "--steps 5 --save '" + a.string() + "'");
  REQUIRE(one.size() == 5);
  REQUIRE(two.size() == 5);
  // Per-rank statistics normalize each half of the batch by itself: the very
  // first loss already differs from one process's (documented, docs/mpi.md).
  CHECK(std::abs(one[0] - two[0]) > 1e-6 * std::abs(one[0]));
  // Still deterministic: the same job twice gives the same checkpoint.
  train(exe, 2, "--steps 5 --save '" + b.string() + "'");
  CHECK(read_file(a) == read_file(b));
}

TEST_CASE("mpi: a rank killed with SIGKILL ends the job within seconds, checkpoint intact") {
  std::string exe = compiled("mpi_mlp");
  auto ckpt = scratch_dir() / "kill.safetensors";
  train(exe, 2, "--steps 2 --save '" + ckpt.string() + "'");
  std::string before = read_file(ckpt);
  REQUIRE(!before.empty());

  auto out = scratch_dir() / "kill.out";
  // mpirun itself is the child (no timeout in between): its children are the ranks.
  std::string cmd = "exec " + mpirun(2, "") + "'" + exe + "' train --random-data --steps 1000000 " +
                    "--resume '" + ckpt.string() + "' --save '" + ckpt.string() + "' >'" +
                    out.string() + "' 2>&1 </dev/null";
  pid_t job = fork();
  REQUIRE(job >= 0);
  if (job == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until the ranks train (step lines appear), then kill rank 1's process.
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  std::vector<pid_t> ranks;
  while (Clock::now() - start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (losses(read_file(out)).size() < 5) continue;
    ranks = children_of(job);
    if (ranks.size() >= 2) break;
  }
  REQUIRE_MESSAGE(ranks.size() >= 2, read_file(out));
  REQUIRE(kill(ranks.back(), SIGKILL) == 0);
  auto killed = Clock::now();
  int status = 0;
  bool ended = false;
  while (Clock::now() - killed < std::chrono::seconds(30)) {
    if (waitpid(job, &status, WNOHANG) == job) {
      ended = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!ended) {
    kill(job, SIGKILL);
    for (pid_t r : ranks) kill(r, SIGKILL);
    waitpid(job, &status, 0);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - killed).count();
  REQUIRE_MESSAGE(ended, "the job still ran 30 s after a rank was killed");
  MESSAGE("the job ended ", seconds, " s after the kill");
  CHECK(seconds < 10);
  CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
  std::string said = read_file(out);
  CHECK_MESSAGE(said.find("signal 9") != std::string::npos, said);
  MESSAGE(said.substr(
      said.find("mpirun noticed") == std::string::npos ? 0 : said.find("mpirun noticed")));
  // The checkpoint is the last one written, whole: it still resumes.
  CHECK(read_file(ckpt) == before);
  CHECK(train(exe, 1, "--steps 3 --resume '" + ckpt.string() + "'").size() == 1);
}

TEST_CASE("mpi: bench --mpi splits the step, and a binary without --mpi says it has none") {
  std::string exe = compiled("mpi_bn");
  Shell r = shell(mpirun(2) + "'" + exe + "' bench --mpi --iters 3 --json");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(r.out.find("2 ranks, global batch 32 (rank 0: 16 examples)") != std::string::npos);
  CHECK(r.out.find("compute") != std::string::npos);
  CHECK(r.out.find("waiting") != std::string::npos);
  CHECK(r.out.find("\"no_overlap\"") != std::string::npos);

  auto plain = scratch_dir() / "plain_bn";
  CommandResult c = run_netc("compile tests/e2e/models/mpi_bn.nn -o '" + plain.string() + "'");
  REQUIRE_MESSAGE(c.status == 0, c.err);
  Shell p = shell("'" + plain.string() + "' bench --mpi");
  CHECK(p.status == 2);
  CHECK_MESSAGE(p.out.find("compiled without --mpi") != std::string::npos, p.out);
}

#endif // NETC_HAVE_MPI
