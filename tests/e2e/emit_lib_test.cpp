// `netc compile --emit lib`: a static library and its C header, used from C
// the way an embedding application would: create, train steps, forward,
// save and load weights, errors through netc_last_error().
#include "run_netc.h"

#include <doctest/doctest.h>

using namespace netc::test;

TEST_CASE("a C program links the library, trains, saves and reloads the weights") {
  setenv("NETC_CACHE_DIR", (scratch_dir() / "cache").c_str(), 1);
  auto dir = scratch_dir() / "lib";
  std::filesystem::create_directories(dir);
  auto r = run_netc("compile examples/fmnist_mlp.nn -o '" + (dir / "libmlp.a").string() +
                    "' --emit lib");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  REQUIRE(std::filesystem::exists(dir / "libmlp.h"));
  write_file(dir / "main.c", R"(#include "libmlp.h"
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  netc_model* m = netc_model_create(1);
  if (!m) return 2;
  int64_t n = netc_model_input_size(m), k = netc_model_output_size(m), B = 4;
  float* x = calloc(B * n, sizeof(float));
  int labels[4] = {1, 2, 3, 4};
  float first = 0, loss = 0;
  for (int i = 0; i < B * n; ++i) x[i] = (float)((i * 37) % 101) / 101.0f;
  netc_model_set_hyper(m, "dropout1.keep", 1.0);
  for (int s = 0; s < 5; ++s) {
    if (netc_model_train_step(m, x, labels, B, &loss)) return 3;
    if (s == 0) first = loss;
  }
  printf("loss %f -> %f\n", first, loss);
  float* a = calloc(B * k, sizeof(float));
  float* b = calloc(B * k, sizeof(float));
  netc_model_forward(m, x, B, a);
  if (netc_model_save_weights(m, "w.safetensors")) return 4;
  netc_model* m2 = netc_model_create(7);
  if (netc_model_load_weights(m2, "w.safetensors")) return 5;
  netc_model_forward(m2, x, B, b);
  int same = 1;
  for (int i = 0; i < B * k; ++i) same &= a[i] == b[i];
  printf("%s\n", same ? "reloaded: same" : "reloaded: different");
  printf("%s\n", loss < first ? "loss fell" : "loss did not fall");
  if (netc_model_forward(m2, x, 100000, b) == 0) return 6;
  printf("error: %s\n", netc_last_error());
  netc_model_destroy(m);
  netc_model_destroy(m2);
  return 0;
}
)");
  std::string d = dir.string();
  std::string build =
      "cd '" + d +
      "' && cc -O1 main.c libmlp.a -lstdc++ -lpthread -ldl -lm -o main >build.log 2>&1";
  REQUIRE(std::system(build.c_str()) == 0);
  std::string run = "cd '" + d + "' && ./main > out.txt 2>&1";
  CHECK(std::system(run.c_str()) == 0);
  std::string out = read_file(dir / "out.txt");
  CHECK_MESSAGE(out.find("reloaded: same") != std::string::npos, out);
  CHECK_MESSAGE(out.find("loss fell") != std::string::npos, out);
  CHECK_MESSAGE(out.find("error: batch 100000") != std::string::npos, out);
}
