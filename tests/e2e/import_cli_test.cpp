// `import "model.onnx" as net` in a .nn model: an ONNX network inside a
// model that gives it labels, a loss and a train block. The ONNX files here
// are written by `netc export`, so each test knows what the network computes.
#include "training_agreement.h"

#include <doctest/doctest.h>

#include <regex>

using namespace netc::test;

namespace {

// A small network with logits as its output, exported with drawn weights.
std::filesystem::path exported_net() {
  static const std::filesystem::path onnx = [] {
    auto dir = scratch_dir() / "import";
    std::filesystem::create_directories(dir);
    write_file(dir / "small.nn", R"(model small
input x : f32[batch, 6]
h = tanh(dense(x, 5))
output logits = dense(h, 3)
)");
    auto r = run_netc("export '" + (dir / "small.nn").string() + "' --random-init -o '" +
                      (dir / "small.onnx").string() + "'");
    REQUIRE_MESSAGE(r.status == 0, r.err);
    return dir / "small.onnx";
  }();
  return onnx;
}

std::filesystem::path wrapper(const std::string& name, const std::string& body) {
  auto path = exported_net().parent_path() / (name + ".nn");
  write_file(path, "model " + name + "\ninput x : f32[batch, 6]\nlabel y : class(3)[batch]\n" +
                       "import \"small.onnx\" as net\n" + body);
  return path;
}

// The numbers printed under "output NAME [...]".
std::vector<double> printed_output(const std::string& text, size_t n) {
  std::vector<double> out;
  auto pos = text.find("output ");
  if (pos == std::string::npos) return out;
  std::istringstream in(text.substr(text.find('\n', pos) + 1));
  double v;
  while (out.size() < n && in >> v) out.push_back(v);
  return out;
}

const char* kTrainable = R"(logits = net(x)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
train {
  optimizer = sgd(lr=0.1)
}
)";

} // namespace

TEST_CASE("import: the network's initializers become parameters under the import's name") {
  auto model = wrapper("wrapped", kTrainable);
  auto r = run_netc("check '" + model.string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.out.find("net.dense1.W") != std::string::npos);
  CHECK(r.out.find("53 trainable parameters") != std::string::npos); // 6*5+5 + 5*3+3
}

TEST_CASE("import: the compiled model computes with the imported weights") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto model = wrapper("wrapped_forward", "output logits = net(x)\n");
  auto exe = scratch_dir() / "wrapped_forward";
  auto c = run_netc("compile '" + model.string() + "' -o '" + exe.string() + "'");
  REQUIRE_MESSAGE(c.status == 0, c.err);
  // The ONNX file on its own, with its weights, in the reference interpreter
  // is the judge; the binary starts from the same weights, linked into it.
  // Another seed draws other inputs, not other weights.
  for (int seed : {5, 7}) {
    CAPTURE(seed);
    std::string args = " forward --batch 3 --seed " + std::to_string(seed);
    auto ref = run_netc("run '" + exported_net().string() + "'" + args);
    auto bin = run_shell("'" + exe.string() + "'" + args);
    // `netc run` of a .nn model without --random-init runs it compiled, too.
    auto run = run_netc("run '" + model.string() + "'" + args);
    REQUIRE_MESSAGE(ref.status == 0, ref.err);
    REQUIRE_MESSAGE(bin.status == 0, bin.out);
    REQUIRE_MESSAGE(run.status == 0, run.err);
    auto want = printed_output(ref.out, 9);
    REQUIRE(want.size() == 9);
    for (const auto& got : {printed_output(bin.out, 9), printed_output(run.out, 9)}) {
      REQUIRE(got.size() == 9);
      for (size_t i = 0; i < 9; ++i)
        CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-4).scale(1e-5));
    }
  }
  // --random-init draws the imported parameters too: other numbers.
  auto drawn = run_netc("run '" + model.string() + "' forward --random-init --batch 3 --seed 5");
  REQUIRE_MESSAGE(drawn.status == 0, drawn.err);
  auto ref = run_netc("run '" + exported_net().string() + "' forward --batch 3 --seed 5");
  CHECK(printed_output(drawn.out, 9) != printed_output(ref.out, 9));
}

TEST_CASE("import: an imported network trains: gradcheck, and the compiled binary's steps") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto model = wrapper("wrapped_train", kTrainable);
  auto g = run_netc("gradcheck '" + model.string() + "'");
  CHECK_MESSAGE(g.status == 0, g.out, g.err);
  auto exe = scratch_dir() / "wrapped_train";
  auto c = run_netc("compile '" + model.string() + "' -o '" + exe.string() + "'");
  REQUIRE_MESSAGE(c.status == 0, c.err);
  auto t = run_shell("'" + exe.string() + "' train --random-data --steps 30 --batch 8 --seed 2");
  REQUIRE_MESSAGE(t.status == 0, t.out);
  auto losses = printed_losses(t.out);
  REQUIRE(losses.size() == 30);
  CHECK(losses.back() < losses.front());
}

TEST_CASE("import: two calls share one set of weights") {
  auto model = wrapper("wrapped_twice", R"(input x2 : f32[batch, 6]
output a = net(x)
output b = net(x2)
)");
  auto r = run_netc("check '" + model.string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.out.find("53 trainable parameters") != std::string::npos);
}

TEST_CASE("import: misuse is a located error") {
  auto check_error = [](const std::string& name, const std::string& body, const std::string& where,
                        const std::string& what) {
    CAPTURE(name);
    auto model = wrapper(name, body);
    auto r = run_netc("check '" + model.string() + "'");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.err.find(name + ".nn:" + where) != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find(what) != std::string::npos, r.err);
  };
  check_error("bad_arity", "output o = net(x, x)\n", "5:12", "net() takes 1 input");
  check_error("bad_shape", "input z : f32[batch, 7]\noutput o = net(z)\n", "6:16",
              "net() input 1 ('x') is f32[batch,6], found f32[batch,7]");
  check_error("bad_kwarg", "output o = net(x, scale=2)\n", "5:19", "unknown argument 'scale'");
  check_error("bad_output", "output o = net(x, output=\"h\")\n", "5:26", "has no output 'h'");
  check_error("as_value", "output o = net + 1\n", "5:12", "'net' is a function");

  auto dir = exported_net().parent_path();
  write_file(dir / "missing.nn", "input x : f32[batch, 6]\nimport \"nope.onnx\" as net\n"
                                 "output o = net(x)\n");
  auto r = run_netc("check '" + (dir / "missing.nn").string() + "'");
  CHECK(r.status == 1);
  CHECK(r.err.find("missing.nn:2:8") != std::string::npos);
  CHECK(r.err.find("cannot import \"nope.onnx\"") != std::string::npos);

  write_file(dir / "twice.nn", "input x : f32[batch, 6]\nimport \"small.onnx\" as net\n"
                               "import \"small.onnx\" as net\noutput o = net(x)\n");
  r = run_netc("check '" + (dir / "twice.nn").string() + "'");
  CHECK(r.status == 1);
  CHECK(r.err.find("twice.nn:3:") != std::string::npos);
  CHECK(r.err.find("already imported at line 2") != std::string::npos);

  write_file(dir / "not_onnx.nn", "input x : f32[batch, 6]\nimport \"small.nn\" as net\n"
                                  "output o = net(x)\n");
  r = run_netc("check '" + (dir / "not_onnx.nn").string() + "'");
  CHECK(r.status == 1);
  CHECK(r.err.find("import reads ONNX models") != std::string::npos);
}
