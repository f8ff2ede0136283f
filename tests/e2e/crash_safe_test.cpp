// Crash-safe training (SPEC section 5, "Nothing lost"): a compiled model's
// `train --save CKPT` killed with SIGKILL at 30 moments, half of them chosen
// at random over a whole run and half the instant a checkpoint's temporary
// file appears (inotify), that is while a checkpoint is being written. After
// every kill the checkpoint is absent (killed before the first save) or
// byte for byte the one of some completed epoch, never a torn file, and
// `--resume` from it ends with the bytes of an uninterrupted run. A real full
// disk (a small tmpfs, when this process may mount one) keeps the old
// checkpoint too. The randomness is seeded: a failure repeats.
#include "run_netc.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <random>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <thread>
#include <vector>

extern char** environ;

using namespace netc::test;
namespace fs = std::filesystem;

namespace {

constexpr int kEpochs = 8;

const char* kModel = R"(model crash_mlp
input x : f32[batch, 16]
label y : class(4)[batch]
h = relu(dense(x, 32, init=he))
logits = dense(h, 4, init=xavier)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
train {
  batch = 16
  epochs = 8
  optimizer = adam(lr=1e-2)
  seed = 3
}
)";

// 1200 rows of 16 features; the label is the largest of four feature sums.
std::string csv() {
  std::mt19937 gen(11);
  std::normal_distribution<float> normal;
  std::string text;
  for (int r = 0; r < 1200; ++r) {
    float f[16], sums[4] = {};
    for (int c = 0; c < 16; ++c) {
      f[c] = normal(gen);
      sums[c % 4] += f[c];
      text += fmt::format("{:.5f},", f[c]);
    }
    text += fmt::format("{}\n", std::max_element(sums, sums + 4) - sums);
  }
  return text;
}

// A started child process; killed and reaped if still running at the end.
class Child {
public:
  explicit Child(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Exit status, or 128 + signal.
  int wait() {
    int raw = 0;
    ::waitpid(pid_, &raw, 0);
    pid_ = -1;
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  }
  // Whether it exited already (reaped then).
  bool done(int& status) {
    int raw = 0;
    if (::waitpid(pid_, &raw, WNOHANG) != pid_) return false;
    pid_ = -1;
    status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    return true;
  }
  void kill() { ::kill(pid_, SIGKILL); }

private:
  pid_t pid_ = -1;
};

struct Setup {
  std::string exe, data;
  fs::path dir;
  std::vector<std::string> after_epoch; // the checkpoint's bytes after epoch 1..kEpochs
  double run_seconds = 0;               // one uninterrupted run
};

std::vector<std::string> train_args(const Setup& s, const fs::path& ckpt, bool resume) {
  std::vector<std::string> a = {s.exe, "train", "--data", s.data, "--save", ckpt.string()};
  if (resume) a.insert(a.end(), {"--resume", ckpt.string()});
  return a;
}

// The temporary files of interrupted writes (".NAME.tmp.PID", runtime/checkpoint.cpp).
int temp_files(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    n += e.path().filename().string().find(".tmp.") != std::string::npos;
  return n;
}

const Setup& setup() {
  static const Setup s = [] {
    Setup s;
    setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
    setenv("NETC_THREADS", "1", 1);
    s.dir = scratch_dir() / "crash";
    fs::create_directories(s.dir);
    fs::path model = s.dir / "crash_mlp.nn";
    write_file(model, kModel);
    write_file(s.dir / "data.csv", csv());
    s.data = "csv:" + (s.dir / "data.csv").string();
    s.exe = (s.dir / "crash_mlp").string();
    CommandResult c = run_netc("compile '" + model.string() + "' -o '" + s.exe + "'");
    REQUIRE_MESSAGE(c.status == 0, c.err);
    // A k-epoch run ends with the checkpoint an E-epoch run writes after epoch k.
    for (int k = 1; k <= kEpochs; ++k) {
      fs::path ckpt = s.dir / fmt::format("ref{}.safetensors", k);
      std::vector<std::string> args = train_args(s, ckpt, false);
      args.insert(args.end(), {"--epochs", std::to_string(k)});
      auto start = std::chrono::steady_clock::now();
      REQUIRE(Child(args).wait() == 0);
      if (k == kEpochs)
        s.run_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      s.after_epoch.push_back(read_file(ckpt));
    }
    return s;
  }();
  return s;
}

// Which epoch's checkpoint the file holds (1..kEpochs), 0 when absent, -1 when
// it is none of them.
int checkpoint_epoch(const Setup& s, const fs::path& ckpt) {
  if (!fs::exists(ckpt)) return 0;
  std::string bytes = read_file(ckpt);
  for (int k = 1; k <= kEpochs; ++k)
    if (bytes == s.after_epoch[static_cast<size_t>(k - 1)]) return k;
  return -1;
}

// Starts `args` and kills it the moment the `nth` temporary checkpoint file
// appears in `dir`. Returns whether the kill happened (else it finished).
bool kill_at_nth_write(const std::vector<std::string>& args, const fs::path& dir, int nth) {
  int fd = inotify_init1(IN_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(inotify_add_watch(fd, dir.c_str(), IN_CREATE) >= 0);
  Child child(args);
  int seen = 0, status = 0;
  alignas(inotify_event) char buffer[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      for (ssize_t at = 0; at < n;) {
        auto* e = reinterpret_cast<inotify_event*>(buffer + at);
        if (e->len && std::strstr(e->name, ".tmp.") && ++seen == nth) {
          child.kill();
          child.wait();
          ::close(fd);
          return true;
        }
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    } else if (child.done(status)) {
      ::close(fd);
      return false;
    }
  }
}

// Starts `args` and kills it after `seconds`, unless it finished before (then
// `finished_after`, if given, is how long it ran).
bool kill_after(const std::vector<std::string>& args, double seconds,
                double* finished_after = nullptr) {
  auto start = std::chrono::steady_clock::now();
  Child child(args);
  auto until = start + std::chrono::duration<double>(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (child.done(status)) {
      if (finished_after)
        *finished_after =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  child.kill();
  child.wait();
  return true;
}

} // namespace

TEST_CASE("SIGKILL at 30 moments leaves an old or new checkpoint, and --resume ends bitwise "
          "where an uninterrupted run does") {
  const Setup& s = setup();
  std::mt19937_64 gen(20261206);
  int killed = 0, mid_write = 0, before_first = 0;
  for (int trial = 0; trial < 30; ++trial) {
    CAPTURE(trial);
    fs::path dir = s.dir / fmt::format("trial{}", trial);
    fs::create_directories(dir);
    fs::path ckpt = dir / "model.safetensors";
    // Even trials: at a random moment of a run; odd: as the n-th checkpoint
    // write (one per epoch and one at the end) starts.
    bool was_killed = false;
    if (trial % 2 == 0) {
      // A run may finish before its moment comes (the machine is shared,
      // and the reference run's time was measured under another load): then
      // it starts over, up to 8 times, each moment drawn within the shortest
      // run seen, so that nearly every trial kills.
      double within = s.run_seconds;
      for (int attempt = 0; attempt < 8 && !was_killed; ++attempt) {
        fs::remove(ckpt);
        double took = within;
        was_killed = kill_after(train_args(s, ckpt, false),
                                std::uniform_real_distribution<double>(0, within)(gen), &took);
        within = std::min(within, took);
      }
    } else {
      was_killed = kill_at_nth_write(train_args(s, ckpt, false), dir,
                                     std::uniform_int_distribution<int>(1, kEpochs + 1)(gen));
    }
    killed += was_killed;
    mid_write += temp_files(dir) > 0;
    int epoch = checkpoint_epoch(s, ckpt);
    CAPTURE(epoch);
    REQUIRE(epoch >= 0); // absent or some epoch's checkpoint: never torn
    if (!was_killed) CHECK(epoch == kEpochs);
    before_first += epoch == 0;
    // Every third trial kills the resumed run too, at a random moment.
    if (trial % 3 == 2 && epoch > 0) {
      kill_after(train_args(s, ckpt, true),
                 std::uniform_real_distribution<double>(0, s.run_seconds)(gen));
      int again = checkpoint_epoch(s, ckpt);
      CHECK(again >= epoch);
      epoch = again;
    }
    REQUIRE(Child(train_args(s, ckpt, epoch > 0)).wait() == 0);
    CHECK(read_file(ckpt) == s.after_epoch.back());
    // The finished run's saves removed what the killed writers left behind.
    CHECK(temp_files(dir) == 0);
  }
  MESSAGE(fmt::format("{} runs killed ({} while a checkpoint was being written, {} before the "
                      "first checkpoint); an uninterrupted run takes {:.2f} s",
                      killed, mid_write, before_first, s.run_seconds));
  CHECK(killed >= 28);
  CHECK(mid_write >= 1);
}

TEST_CASE("a full disk (a 64 KiB tmpfs) keeps the previous checkpoint") {
  const Setup& s = setup();
  fs::path mnt = s.dir / "full";
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0) {
    MESSAGE(fmt::format("skipped: cannot mount a tmpfs here ({}); needs root or CAP_SYS_ADMIN",
                        std::strerror(errno)));
    return;
  }
  struct Unmount {
    fs::path at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mnt};
  fs::path ckpt = mnt / "model.safetensors";
  write_file(ckpt, s.after_epoch[0]);
  // Fill what is left, so that no new checkpoint fits.
  {
    std::FILE* f = std::fopen((mnt / "filler").c_str(), "wb");
    REQUIRE(f);
    std::string block(512, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  std::string cmd = "'" + s.exe + "' train --data '" + s.data + "' --save '" + ckpt.string() +
                    "' --resume '" + ckpt.string() + "' --epochs 2";
  auto out = s.dir / "full.out";
  int raw = std::system((cmd + " >'" + out.string() + "' 2>&1").c_str());
  std::string said = read_file(out);
  CAPTURE(said);
  CHECK(WIFEXITED(raw));
  CHECK(WEXITSTATUS(raw) == 1);
  CHECK(said.find("No space left on device") != std::string::npos);
  CHECK(said.find("the previous checkpoint, if any, is unchanged") != std::string::npos);
  CHECK(read_file(ckpt) == s.after_epoch[0]);
  CHECK(temp_files(mnt) == 0);
  // With room again the same command continues it to epoch 2's checkpoint.
  fs::remove(mnt / "filler");
  CHECK(std::system((cmd + " >'" + out.string() + "' 2>&1").c_str()) == 0);
  CHECK(read_file(ckpt) == s.after_epoch[1]);
}
