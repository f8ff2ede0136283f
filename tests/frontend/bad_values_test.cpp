// The bad-input corpus, part 2: invalid values, overflow, empty and binary
// files, hostile nesting, missing files.
#include "frontend_test_helpers.h"

#include <filesystem>
#include <fstream>

using namespace netc;

namespace {

const std::string kX = "input x : f32[batch, 4]\n";

std::string train_block(const std::string& line) {
  return kX + "output h = x\ntrain {\n  " + line + "\n}\n";
}

} // namespace

TEST_CASE("invalid values in the model") {
  CHECK_USER_ERROR(kX + "output h = dropout(x, keep=1.5)\n", 2, 28,
                   "keep must be in (0, 1], found 1.5");
  CHECK_USER_ERROR(kX + "output h = dropout(x, 0)\n", 2, 23, "keep must be in (0, 1], found 0");
  CHECK_USER_ERROR(kX + "output h = dropout(x, keep=-0.5)\n", 2, 28,
                   "keep must be in (0, 1], found -0.5");
  CHECK_USER_ERROR(kX + "output h = dense(x, 0)\n", 2, 21,
                   "dense: 'units' must be at least 1, found 0");
  CHECK_USER_ERROR(kX + "output h = dense(x, 2.5)\n", 2, 21,
                   "dense: 'units' must be an integer, found 2.5");
  CHECK_USER_ERROR(kX + "output h = dense(x, 3, bias=maybe)\n", 2, 29,
                   "dense: 'bias' must be true or false, found 'maybe'");
  CHECK_USER_ERROR(kX + "output h = batchnorm(x, eps=0)\n", 2, 29,
                   "batchnorm: eps must be positive, found 0");
  CHECK_USER_ERROR(kX + "output h = batchnorm(x, momentum=2)\n", 2, 34,
                   "batchnorm: momentum must be in [0, 1], found 2");
  CHECK_USER_ERROR("input i : f32[batch, 1, 8, 8]\noutput h = conv2d(i, 2, stride=2, pad=same)\n",
                   2, 39, "conv2d: pad=same needs stride 1");
  CHECK_USER_ERROR("input i : f32[batch, 1, 8, 8]\noutput h = conv2d(i, 2, kernel=4, pad=same)\n",
                   2, 39, "conv2d: pad=same needs an odd kernel, found 4");
  CHECK_USER_ERROR("input i : f32[batch, 1, 8, 8]\noutput h = conv2d(i, 2, pad=wide)\n", 2, 29,
                   "conv2d: 'pad' must be an integer, a pair (h, w), same or valid, found 'wide'");
  CHECK_USER_ERROR("input i : f32[batch, 1, 8, 8]\noutput h = maxpool(i, (2, 2, 2))\n", 2, 23,
                   "maxpool: 'kernel' must be an integer or a pair (h, w), found a tuple");
  CHECK_USER_ERROR(kX + "output h = dense(x, 3, init=normal)\n", 2, 29,
                   "initializer 'normal' needs a scale, as in normal(0.02)");
  CHECK_USER_ERROR(kX + "output h = dense(x, 3, init=uniform(-1))\n", 2, 37,
                   "uniform: the scale must be positive, found -1");
  CHECK_USER_ERROR(kX + "output h = dense(x, 3, init=2)\n", 2, 29,
                   "expected an initializer such as he or normal(0.02), found 2");
  CHECK_USER_ERROR(kX + "z = dense(x, 2)\nloss mean(z) + l2(-1)\n", 3, 19,
                   "l2: lambda must be at least 0, found -1");
  CHECK_USER_ERROR(kX + "z = dense(x, 2)\nloss mean(z) + l2(1) + l2(2)\n", 3, 24,
                   "l2() appears twice in the loss");
  CHECK_USER_ERROR(kX + "loss mean(x) + l2(0.1)\n", 2, 16, "l2() has no weights to regularize");
  CHECK_USER_ERROR(kX + "z = dense(x, 2)\nloss mean(z) + l2(0.1)\noutput o = dense(z, 2)\n", 4, 12,
                   "'dense2.W' is created after the 'loss' statement");
  // Only a layer fed by the regularization term itself comes after it in the loss.
  CHECK_USER_ERROR(kX + "z = dense(x, 2)\nloss mean(dense(z * l2(0.1), 2))\n", 3, 11,
                   "'dense2.W' is created by a layer whose input depends on the regularization "
                   "term");
  CHECK_USER_ERROR(kX + "label y : class(1)[batch]\n", 2, 17,
                   "a class label needs at least 2 classes, found 1");
  CHECK_USER_ERROR(kX + "input z : f32[batch, 0]\n", 2, 22,
                   "a dimension must be positive, found 0");
  CHECK_USER_ERROR(kX + "input z : f32[batch, -3]\n", 2, 22,
                   "expected a dimension (a positive integer or 'batch'), found '-'");
  CHECK_USER_ERROR(kX + "input z : f32[4, batch]\n", 2, 18,
                   "'batch' can only be the first dimension");
  CHECK_USER_ERROR(kX + "param W : f32[batch, 4] = he\n", 2, 15,
                   "a param cannot have a 'batch' dimension");
  CHECK_USER_ERROR(kX + "param W : i32[4] = zeros\n", 2, 11,
                   "a param must be f32 or f64, found i32");
  CHECK_USER_ERROR(kX + "output h = reshape(x, (batch, -1))\n", 2, 31,
                   "reshape: 'shape' must be a tuple of positive integers and 'batch', found -1");
  CHECK_USER_ERROR(kX + "output h = reshape(x, (batch, batch))\n", 2, 31,
                   "reshape: 'batch' can appear only as often as in the input (1), which is "
                   "f32[batch,4]");
  CHECK_USER_ERROR(kX + "output h = sum(x, axis=(1, 1))\n", 2, 24, "sum: axis 1 is given twice");
  CHECK_USER_ERROR(kX + "output h = max(x, x, axis=1)\n", 2, 27,
                   "max: 'axis' applies to max(x, axis=...), not to the elementwise max(a, b)");
}

TEST_CASE("invalid values in the train block") {
  CHECK_USER_ERROR(train_block("optimizer = adam(lr=-0.1)"), 4, 23,
                   "learning rate must be positive, found -0.1");
  CHECK_USER_ERROR(train_block("batch = 0"), 4, 11, "batch must be at least 1, found 0");
  CHECK_USER_ERROR(train_block("split = 0.5 / 0.2 / 0.2"), 4, 11,
                   "split ratios must sum to 1, found 0.9");
  CHECK_USER_ERROR(train_block("split = 0.5 / 0.2 / test"), 4, 11,
                   "split ratios must sum to 1, found 0.7");
  CHECK_USER_ERROR(train_block("early_stop = patience(0)"), 4, 25, "patience must be at least 1");
  CHECK_USER_ERROR(train_block("batch = 1\n  batch = 2"), 5, 3, "duplicate train key 'batch'");
}

TEST_CASE("overflowing shapes and literals") {
  CHECK_USER_ERROR("input x : f32[100000000000, 100000000000]\noutput h = x\n", 1, 11,
                   "shape [100000000000,100000000000] has too many elements (the limit is 2^48)");
  CHECK_USER_ERROR(kX + "param W : f32[65536, 65536, 65537] = zeros\n", 2, 11,
                   "has too many elements");
  CHECK_USER_ERROR(kX + "output h = dense(x, 100000000000000)\n", 2, 12,
                   "shape [4,100000000000000] has too many elements");
  CHECK_USER_ERROR(kX + "output h = x * 99999999999999999999\n", 2, 16,
                   "integer 99999999999999999999 is too large");
  CHECK_USER_ERROR(kX + "input z : f32[batch, 9223372036854775808]\n", 2, 22, "is too large");
  CHECK_USER_ERROR(kX + "output h = x * 1e400\n", 2, 16, "number 1e400 is out of range");
}

TEST_CASE("a model needs statements and an output or a loss") {
  CHECK_USER_ERROR("", 1, 1, "the model is empty");
  CHECK_USER_ERROR("# nothing here\n\n", 1, 1, "the model is empty");
  CHECK_USER_ERROR(kX + "h = relu(x)\n", 2, 12,
                   "the model has no 'output' and no 'loss', so it computes nothing");
}

TEST_CASE("binary files are not text") {
  std::string nul = kX;
  nul.append("out\0put h = x\n", 14);
  CHECK_USER_ERROR(nul, 2, 4, "not a text file: found a NUL byte");
  CHECK_USER_ERROR(kX + "output h = x # \xff\xfe\n", 2, 16,
                   "not a text file: found byte 0xff, which is not UTF-8");
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919 + 13) & 0xff);
  CHECK(test::first_error(garbage).message.find("not a text file") != std::string::npos);
}

TEST_CASE("nesting 100,000 deep is a located error, not a stack overflow") {
  const std::string prefix = kX + "output h = "; // the expression starts at 2:12
  std::string parens = prefix + std::string(100000, '(');
  parens += 'x';
  parens += std::string(100000, ')');
  CHECK_USER_ERROR(parens, 2, 268, "nesting too deep (limit 256)");
  std::string calls = prefix;
  for (int i = 0; i < 100000; ++i) calls += "relu(";
  calls += 'x';
  calls += std::string(100000, ')');
  CHECK_USER_ERROR(calls, 2, 1292, "nesting too deep (limit 256)");
  CHECK_USER_ERROR(prefix + std::string(100000, '-') + "x\n", 2, 267,
                   "nesting too deep (limit 256)");
  std::string chain = prefix + "x";
  for (int i = 0; i < 100000; ++i) chain += "+x";
  CHECK_USER_ERROR(chain, 2, 2011, "expression too deep (limit 1000 nested operations)");
  // Deep but legal models still build: 200 nested activations.
  std::string ok = prefix;
  for (int i = 0; i < 200; ++i) ok += "relu(";
  ok += 'x';
  ok += std::string(200, ')');
  CHECK(test::build(ok).size() == 201);
}

TEST_CASE("files that cannot be read are named") {
  try {
    load_model("/nonexistent/dir/model.nn");
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(e.diagnostics()[0].file == "/nonexistent/dir/model.nn");
    CHECK(e.diagnostics()[0].message.find("no such file") != std::string::npos);
    CHECK(std::string(e.what()).find("/nonexistent/dir/model.nn") != std::string::npos);
  }
  auto dir = std::filesystem::temp_directory_path();
  try {
    load_model(dir.string());
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(e.diagnostics()[0].message.find("is a directory") != std::string::npos);
  }
  // load_model locates errors in the file it read.
  auto path = dir / "netc_frontend_bad_model.nn";
  std::ofstream(path) << "input x : f32[batch, 2]\noutput y = rleu(x)\n";
  try {
    load_model(path.string());
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(e.diagnostics()[0].file == path.string());
    CHECK(e.diagnostics()[0].loc == SourceLoc{2, 12});
  }
  std::filesystem::remove(path);
}

TEST_CASE("huge layer arguments fail cleanly instead of overflowing") {
  const std::string img = "input i : f32[batch, 1, 8, 8]\n";
  CHECK_USER_ERROR(img + "output h = conv2d(i, 2, kernel=(3037000500, 3037000500))\n", 2, 12,
                   "has too many elements");
  CHECK_USER_ERROR(img + "output h = conv2d(i, 2, dilation=9223372036854775807, pad=same)\n", 2, 12,
                   "conv2d");
  CHECK_USER_ERROR(img + "output h = maxpool(i, 9223372036854775807)\n", 2, 12, "maxpool");
  CHECK_USER_ERROR(img + "output h = dense(flatten(i), 9223372036854775807)\n", 2, 12,
                   "has too many elements");
}
