// The data layer's readers (runtime/data/): specs, IDX (raw and gzipped), CSV
// and NPY files written into a temporary folder, loaded and shaped for a model.
#include "runtime/data_test_util.h"
#include "runtime/npy.h"

#include <doctest/doctest.h>

using namespace netc::rt;
using namespace netc::rt::test;
using netc::write_npy;

TEST_CASE("data: specs parse into kinds and files") {
  DataSpec f = parse_data_spec("fashion-mnist");
  CHECK(f.kind == DataKind::fashion_mnist);
  CHECK(f.files == std::vector<std::string>{kFashionMnistDir});
  CHECK(parse_data_spec("fashion-mnist", "/d").files == std::vector<std::string>{"/d"});

  DataSpec i = parse_data_spec("idx:a.idx,/abs/b.idx.gz", "/data");
  CHECK(i.kind == DataKind::idx);
  CHECK(i.files == std::vector<std::string>{"/data/a.idx", "/abs/b.idx.gz"});

  DataSpec c = parse_data_spec("csv:dir:with:colons/t.csv:label=0");
  CHECK(c.kind == DataKind::csv);
  CHECK(c.files == std::vector<std::string>{"dir:with:colons/t.csv"});
  CHECK(c.label_column == "0");
  CHECK(parse_data_spec("csv:t.csv").label_column.empty());

  DataSpec n = parse_data_spec("npy:x.npy,y.npy");
  CHECK(n.kind == DataKind::npy);
  CHECK(n.files == std::vector<std::string>{"x.npy", "y.npy"});

  CHECK(contains(data_error([] { parse_data_spec("mnist"); }), "unknown data spec \"mnist\""));
  CHECK(contains(data_error([] { parse_data_spec("idx:only_one"); }), "needs two files"));
  CHECK(contains(data_error([] { parse_data_spec("csv:t.csv:label="); }), "label= needs a column"));
}

TEST_CASE("data: idx images raw and gzipped, uint8 pixels scaled to [0, 1], rank-4 input") {
  TempDir dir;
  // 3 images of 2x2 pixels, labels 0..2.
  std::vector<uint8_t> px = {0, 255, 51, 102, 1, 2, 3, 4, 10, 20, 30, 40};
  write_file(dir / "im.idx", idx_bytes({3, 2, 2}, px));
  write_file(dir / "lb.idx.gz", gzip(idx_bytes({3}, {2, 0, 1})));
  LoadedData d = load_data("idx:im.idx,lb.idx.gz", dir.str(), class_layout({1, 2, 2}, 3));
  REQUIRE(d.examples);
  CHECK_FALSE(d.test);
  const Dataset& ds = *d.examples;
  CHECK(ds.size == 3);
  CHECK(ds.example_shape == std::vector<int64_t>{1, 2, 2});
  CHECK(ds.example_elements() == 4);
  CHECK(ds.features[0] == 0.0f);
  CHECK(ds.features[1] == 1.0f);
  CHECK(ds.features[2] == doctest::Approx(0.2));
  CHECK(ds.features[11] == doctest::Approx(40.0 / 255));
  CHECK(ds.label_columns == 1);
  CHECK(ds.class_label(0, 0) == 2);
  CHECK(ds.class_label(2, 0) == 1);

  // The same images gzipped load to the same numbers.
  write_file(dir / "im.gz", gzip(idx_bytes({3, 2, 2}, px)));
  LoadedData g = load_data("idx:im.gz,lb.idx.gz", dir.str(), class_layout({4}, 3));
  CHECK(g.examples->features == ds.features);
  CHECK(g.examples->example_shape == std::vector<int64_t>{4});
}

TEST_CASE("data: csv with a header, the label column last by default or chosen") {
  TempDir dir;
  write_file(dir / "a.csv", "f0,f1,label\n1.5, 2,1\r\n\n-3,4e1,0\n");
  LoadedData d = load_data("csv:a.csv", dir.str(), class_layout({2}, 2));
  const Dataset& ds = *d.examples;
  CHECK(ds.size == 2);
  CHECK(ds.features == std::vector<float>{1.5f, 2, -3, 40});
  CHECK(ds.labels == std::vector<float>{1, 0});

  // label=0: the first column; a header name works too.
  write_file(dir / "b.csv", "2,0.5,0.25\n1,1,1\n");
  LoadedData b = load_data("csv:b.csv:label=0", dir.str(), class_layout({2}, 3));
  CHECK(b.examples->labels == std::vector<float>{2, 1});
  CHECK(b.examples->features == std::vector<float>{0.5f, 0.25f, 1, 1});
  LoadedData byname = load_data("csv:a.csv:label=f1", dir.str(), class_layout({2}, 41));
  CHECK(byname.examples->labels == std::vector<float>{2, 40});
  CHECK(byname.examples->features == std::vector<float>{1.5f, 1, -3, 0});
}

TEST_CASE("data: csv with several label fields: a class and f32 targets") {
  TempDir dir;
  // class, 2 targets, 3 features
  write_file(dir / "t.csv", "1,0.5,-1,10,20,30\n0,1.5,2,11,21,31\n");
  DataLayout l;
  l.example_shape = {3};
  l.labels = {LabelField{"c", 2, 1}, LabelField{"t", 0, 2}};
  LoadedData d = load_data("csv:t.csv:label=0", dir.str(), l);
  CHECK(d.examples->label_columns == 3);
  CHECK(d.examples->labels == std::vector<float>{1, 0.5f, -1, 0, 1.5f, 2});
  CHECK(d.examples->features == std::vector<float>{10, 20, 30, 11, 21, 31});
}

TEST_CASE("data: npy float and uint8 X, Y as classes or [N, K] targets") {
  TempDir dir;
  write_npy(dir / "x.npy", {2, 3}, {0.5, 1, 2, 3, 4, 5});
  write_npy(dir / "y.npy", {2}, {1, 0});
  LoadedData d = load_data("npy:x.npy,y.npy", dir.str(), class_layout({3}, 2));
  CHECK(d.examples->features == std::vector<float>{0.5f, 1, 2, 3, 4, 5});
  CHECK(d.examples->labels == std::vector<float>{1, 0});

  write_npy_u8(dir / "xu.npy", {2, 2}, {255, 0, 51, 255});
  write_npy(dir / "yk.npy", {2, 2}, {0.25, 0.75, 1, 0});
  DataLayout l;
  l.example_shape = {2};
  l.labels = {LabelField{"tags", 0, 2}};
  LoadedData u = load_data("npy:xu.npy,yk.npy", dir.str(), l);
  CHECK(u.examples->features[0] == 1.0f);
  CHECK(u.examples->features[2] == doctest::Approx(0.2));
  CHECK(u.examples->labels == std::vector<float>{0.25f, 0.75f, 1, 0});
}

TEST_CASE("data: unlabeled inputs for predict from npy, csv and idx") {
  TempDir dir;
  DataLayout l = class_layout({2}, 3);
  write_npy(dir / "in.npy", {1, 2}, {3, 4});
  CHECK(load_inputs(dir / "in.npy", l).features == std::vector<float>{3, 4});
  write_file(dir / "in.csv", "a,b\n1,2\n5,6\n");
  Dataset c = load_inputs(dir / "in.csv", l);
  CHECK(c.size == 2);
  CHECK(c.label_columns == 0);
  CHECK(c.features == std::vector<float>{1, 2, 5, 6});
  write_file(dir / "in.idx.gz", gzip(idx_bytes({1, 2}, {0, 255})));
  CHECK(load_inputs(dir / "in.idx.gz", l).features == std::vector<float>{0, 1});
}
