// `netc export` on the command line: what it writes, and each user error it
// reports (exit 1, a message naming the file). The numeric round trips
// through ONNX Runtime and the importer are tests/onnx/export_ort_test.py.
#include "run_netc.h"

#include <doctest/doctest.h>

using netc::test::run_netc;
using netc::test::scratch_dir;

TEST_CASE("export writes an ONNX model and a test case that the importer runs") {
  auto dir = scratch_dir() / "export_mlp";
  std::filesystem::create_directories(dir);
  auto r =
      run_netc("export examples/fmnist_mlp.nn --random-init -o '" + (dir / "model.onnx").string() +
               "' --test-data '" + (dir / "test_data_set_0").string() + "' --batch 3");
  REQUIRE(r.status == 0);
  CHECK(r.out.find("(ONNX opset 17,") != std::string::npos);
  CHECK(std::filesystem::file_size(dir / "model.onnx") > 900000); // 235,914 f32 weights
  CHECK(std::filesystem::exists(dir / "test_data_set_0" / "input_0.pb"));
  CHECK(std::filesystem::exists(dir / "test_data_set_0" / "output_0.npy"));
  auto t = run_netc("onnx-test '" + dir.string() + "' --batch-axis --reference-only --rtol 1e-5");
  CHECK(t.status == 0);
  CHECK(t.out.find("\"status\":\"passed\"") != std::string::npos);
}

TEST_CASE("export without weights, with a missing or foreign checkpoint, or to a bad path fails") {
  auto out = (scratch_dir() / "x.onnx").string();
  auto r = run_netc("export examples/fmnist_cnn.nn -o " + out);
  CHECK(r.status == 1);
  CHECK(r.err.find("export needs --weights CKPT") != std::string::npos);

  r = run_netc("export examples/fmnist_cnn.nn --weights no/such.ckpt -o " + out);
  CHECK(r.status == 1);
  CHECK(r.err.find("no/such.ckpt") != std::string::npos);

  r = run_netc("export examples/fmnist_cnn.nn --random-init -o no/such/dir/x.onnx");
  CHECK(r.status == 1);
  CHECK(r.err.find("cannot write no/such/dir/x.onnx") != std::string::npos);

  r = run_netc("export examples/fmnist_cnn.nn --random-init --weights a.ckpt -o " + out);
  CHECK(r.status == 2); // usage: the two sources of weights exclude each other
}
