// Bad input to the data layer: every case throws Error with a message that
// names the file and says what was expected and what was found.
#include "runtime/data_test_util.h"
#include "runtime/npy.h"

#include <doctest/doctest.h>

using namespace netc::rt;
using namespace netc::rt::test;
using netc::write_npy;

namespace {

std::vector<uint8_t> bytes(size_t n, uint8_t v = 7) { return std::vector<uint8_t>(n, v); }

std::string load_error(const std::string& spec, const TempDir& dir, const DataLayout& layout) {
  return data_error([&] { load_data(spec, dir.str(), layout); });
}

} // namespace

TEST_CASE("data errors: a missing file is named") {
  TempDir dir;
  write_file(dir / "lb.idx", idx_bytes({2}, {0, 1}));
  std::string e = load_error("idx:nope.idx,lb.idx", dir, class_layout({4}, 2));
  CHECK(e == dir / "nope.idx" + ": no such file");
  CHECK(load_error("csv:nope.csv", dir, class_layout({4}, 2)) ==
        dir / "nope.csv" + ": no such file");
  CHECK(load_error("npy:x.npy,y.npy", dir, class_layout({4}, 2)) ==
        dir / "x.npy" + ": no such file");
}

TEST_CASE("data errors: truncated idx, raw and gzipped, say how much was expected and found") {
  TempDir dir;
  write_file(dir / "lb.idx", idx_bytes({3}, {0, 1, 0}));
  std::string img = idx_bytes({3, 2, 2}, bytes(12));
  write_file(dir / "short.idx", img.substr(0, img.size() - 5)); // 7 of 12 pixel bytes
  std::string e = load_error("idx:short.idx,lb.idx", dir, class_layout({4}, 2));
  CHECK(contains(e, dir / "short.idx"));
  CHECK(contains(e, "truncated IDX file"));
  CHECK(contains(e, "[3, 2, 2] uint8 values (12 bytes of data, 3 examples), found 7 bytes "
                    "(1 complete example)"));

  std::string gz = gzip(img);
  write_file(dir / "short.gz", gz.substr(0, gz.size() / 2));
  e = load_error("idx:short.gz,lb.idx", dir, class_layout({4}, 2));
  CHECK(contains(e, dir / "short.gz" + ": truncated gzip file"));
  CHECK(contains(e, "ends after"));

  write_file(dir / "tiny.idx", std::string("\0\0", 2));
  CHECK(contains(load_error("idx:tiny.idx,lb.idx", dir, class_layout({4}, 2)),
                 "truncated IDX file: 2 bytes, not even the 4-byte magic number"));
}

TEST_CASE("data errors: a wrong idx magic number") {
  TempDir dir;
  write_file(dir / "lb.idx", idx_bytes({1}, {0}));
  write_file(dir / "bad.idx", std::string("\x12\x34\x08\x01\0\0\0\x01\x05", 9));
  std::string e = load_error("idx:bad.idx,lb.idx", dir, class_layout({1}, 2));
  CHECK(contains(e, dir / "bad.idx" + ": not an IDX file: wrong magic number 0x12340801"));
}

TEST_CASE("data errors: a truncated npy file") {
  TempDir dir;
  write_npy(dir / "x.npy", {4, 3}, std::vector<double>(12, 1.0));
  write_npy(dir / "y.npy", {4}, {0, 1, 0, 1});
  std::ifstream in(dir / "x.npy", std::ios::binary);
  std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_file(dir / "x.npy", b.substr(0, b.size() - 8));
  std::string e = load_error("npy:x.npy,y.npy", dir, class_layout({3}, 2));
  CHECK(contains(e, dir / "x.npy"));
  CHECK(contains(e, "truncated data: expected 48 bytes, found 40"));
}

TEST_CASE("data errors: csv rows with the wrong number of columns or a non-number") {
  TempDir dir;
  write_file(dir / "c.csv", "1,2,3,0\n4,5,6,1\n7,8,1\n");
  CHECK(load_error("csv:c.csv", dir, class_layout({3}, 2)) ==
        dir / "c.csv" +
            ":3: expected 4 columns, found 3 (3 for the input x [3], 1 for the labels)");
  write_file(dir / "h.csv", "a,b,c\n1,2,0\n");
  CHECK(contains(load_error("csv:h.csv", dir, class_layout({3}, 2)),
                 dir / "h.csv" + ":1: expected 4 columns, found 3"));
  write_file(dir / "n.csv", "a,b,y\n1,2,0\n3,x7,1\n");
  CHECK(load_error("csv:n.csv", dir, class_layout({2}, 2)) ==
        dir / "n.csv" + ":3: column 1 is \"x7\", not a number");
  write_file(dir / "e.csv", "1,,0\n");
  CHECK(contains(load_error("csv:e.csv", dir, class_layout({2}, 2)),
                 ":1: column 1 is empty, not a number (a header row must contain no numbers)"));
  write_file(dir / "empty.csv", "a,b,y\n\n");
  CHECK(load_error("csv:empty.csv", dir, class_layout({2}, 2)) ==
        dir / "empty.csv" + ": no data rows");
  write_file(dir / "ok.csv", "a,b,y\n1,2,0\n");
  CHECK(load_error("csv:ok.csv:label=zz", dir, class_layout({2}, 2)) ==
        dir / "ok.csv" + ": label=zz: no column of that name in the header row");
  write_file(dir / "noheader.csv", "1,2,0\n");
  CHECK(contains(load_error("csv:noheader.csv:label=y", dir, class_layout({2}, 2)),
                 "has no header row, so label=y names no column"));
  CHECK(contains(load_error("csv:ok.csv:label=2", dir, class_layout({1}, 2)),
                 "expected 2 columns, found 3"));
  CHECK(load_error("csv:ok.csv:label=5", dir, class_layout({2}, 2)) ==
        dir / "ok.csv" + ": label=5 asks for 1 label column from column 5, but the file has 3 "
                         "columns (0..2)");
}

TEST_CASE("data errors: labels out of range, in idx, csv and npy, name the file and the row") {
  TempDir dir;
  write_file(dir / "im.idx", idx_bytes({3, 2}, bytes(6)));
  write_file(dir / "lb.idx", idx_bytes({3}, {1, 12, 0}));
  CHECK(load_error("idx:im.idx,lb.idx", dir, class_layout({2}, 10)) ==
        "label 12 at row 1 of " + dir / "lb.idx" +
            " is outside the 10 classes of the model's label y (0..9)");
  // int8 IDX labels can be negative.
  std::string signed_labels = idx_bytes({3}, {0, 1, 0xff});
  signed_labels[2] = 0x09;
  write_file(dir / "neg.idx", signed_labels);
  CHECK(load_error("idx:im.idx,neg.idx", dir, class_layout({2}, 10)) ==
        "label -1 at row 2 of " + dir / "neg.idx" +
            " is outside the 10 classes of the model's label y (0..9)");
  // CSV rows count examples like the other formats; the line number is for an editor.
  write_file(dir / "c.csv", "x,y\n1,0\n\n2,3\n");
  CHECK(load_error("csv:c.csv", dir, class_layout({1}, 3)) ==
        "label 3 at row 1 (line 4) of " + dir / "c.csv" +
            " is outside the 3 classes of the model's label y (0..2)");
  write_file(dir / "c.csv", "x,y\n1,-2\n2,0\n");
  CHECK(load_error("csv:c.csv", dir, class_layout({1}, 3)) ==
        "label -2 at row 0 (line 2) of " + dir / "c.csv" +
            " is outside the 3 classes of the model's label y (0..2)");
  write_npy(dir / "x.npy", {2, 1}, {1, 2});
  write_npy(dir / "y.npy", {2}, {0, -1});
  CHECK(load_error("npy:x.npy,y.npy", dir, class_layout({1}, 3)) ==
        "label -1 at row 1 of " + dir / "y.npy" +
            " is outside the 3 classes of the model's label y (0..2)");
  write_npy(dir / "y.npy", {2}, {0.5, 0});
  CHECK(contains(load_error("npy:x.npy,y.npy", dir, class_layout({1}, 3)),
                 "label 0.5 at row 0 of " + dir / "y.npy" + " is not a class index"));
  // Every label is checked, the last one too.
  write_npy(dir / "y.npy", {2}, {0, 3});
  CHECK(contains(load_error("npy:x.npy,y.npy", dir, class_layout({1}, 3)),
                 "label 3 at row 1 of " + dir / "y.npy"));
}

TEST_CASE("data errors: images and labels with different counts, or shapes that do not fit") {
  TempDir dir;
  write_file(dir / "im.idx", idx_bytes({3, 2, 2}, bytes(12)));
  write_file(dir / "lb.idx", idx_bytes({2}, {0, 1}));
  CHECK(load_error("idx:im.idx,lb.idx", dir, class_layout({1, 2, 2}, 2)) ==
        dir / "im.idx" + " has 3 examples but " + dir / "lb.idx" + " has 2 label rows");
  CHECK(load_error("idx:im.idx,lb.idx", dir, class_layout({1, 28, 28}, 2)) ==
        dir / "im.idx" +
            ": each example has shape [2, 2] (4 values), but the model's input x expects "
            "[1, 28, 28] (784 values)");
  write_npy(dir / "x.npy", {2, 1}, {1, 2});
  write_npy(dir / "y.npy", {2, 3}, {0, 0, 0, 1, 1, 1});
  CHECK(contains(load_error("npy:x.npy,y.npy", dir, class_layout({1}, 2)),
                 "each example has 3 label values (shape [2, 3]), but the model's labels (y "
                 "class(2)) take 1"));
}

TEST_CASE("data errors: the Fashion-MNIST files' absence names the Debian package") {
  TempDir dir;
  std::string e =
      data_error([&] { load_data("fashion-mnist", dir.str(), class_layout({784}, 10)); });
  CHECK(e == "the Fashion-MNIST files are not in " + dir.str() +
                 " (no train-images-idx3-ubyte.gz): install the Debian package "
                 "dataset-fashion-mnist, or pass --data-dir");
}

namespace {

// A .npy file with the header written by hand (version 1.0), for shapes and
// dtypes that numpy itself would never write.
std::string npy_with(const std::string& descr, const std::string& shape, size_t data_bytes) {
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string b = "\x93NUMPY\x01";
  b += '\0';
  b += static_cast<char>(header.size() & 0xff);
  b += static_cast<char>(header.size() >> 8);
  return b + header + std::string(data_bytes, '\0');
}

} // namespace

TEST_CASE("data errors: npy header dimensions are range-checked, not read past a sign") {
  // Issue 13: "(40, -4)" was read as (40, 4) and training went on; a dimension
  // past 2^64 ended in the bare text "stoll".
  TempDir dir;
  write_npy(dir / "y.npy", {4}, {0, 1, 0, 1});
  write_file(dir / "neg.npy", npy_with("<f4", "4, -3", 48));
  CHECK(load_error("npy:neg.npy,y.npy", dir, class_layout({3}, 2)) ==
        dir / "neg.npy" +
            ": not a valid .npy file: dimension 1 of the shape is -3, below the minimum 0");
  write_file(dir / "huge.npy", npy_with("<f4", "4, 99999999999999999999", 48));
  CHECK(load_error("npy:huge.npy,y.npy", dir, class_layout({3}, 2)) ==
        dir / "huge.npy" + ": not a valid .npy file: dimension 1 of the shape is "
                           "\"99999999999999999999\", above the maximum 1099511627776");
  write_file(dir / "big.npy", npy_with("<f4", "1048576, 1048576, 4", 48));
  CHECK(contains(load_error("npy:big.npy,y.npy", dir, class_layout({3}, 2)),
                 "the shape (1048576, 1048576, 4) has more than 2^40 elements"));
  write_file(dir / "junk.npy", npy_with("<f4", "4, three", 48));
  CHECK(contains(load_error("npy:junk.npy,y.npy", dir, class_layout({3}, 2)),
                 "dimension 1 of the shape is \"three\", not an integer"));
  write_file(dir / "item.npy", npy_with("<f99999999999", "4, 3", 48));
  CHECK(contains(load_error("npy:item.npy,y.npy", dir, class_layout({3}, 2)),
                 "the item size of the dtype is 99999999999, above the maximum 16"));
  // The forms numpy writes are still read: "(4, 3)", "(4,)", Python 2's "4L".
  write_file(dir / "ok.npy", npy_with("<f4", "4L, 3", 48));
  CHECK(load_error("npy:ok.npy,y.npy", dir, class_layout({3}, 2)) == "");
  write_file(dir / "y1.npy", npy_with("<i4", "4,", 16));
  CHECK(load_error("npy:ok.npy,y1.npy", dir, class_layout({3}, 2)) == "");
}

TEST_CASE("data errors: an idx dimension of 0 and a csv number beyond f32 are named") {
  TempDir dir;
  write_file(dir / "lb.idx", idx_bytes({2}, {0, 1}));
  write_file(dir / "zero.idx", idx_bytes({2, 0, 3}, {}));
  CHECK(load_error("idx:zero.idx,lb.idx", dir, class_layout({3}, 2)) ==
        dir / "zero.idx" + ": IDX header: dimension 1 (bytes 8..11) is 0; every dimension of a "
                           "data set must be at least 1");
  write_file(dir / "huge.idx", idx_bytes({0xffffffffu, 0xffffffffu, 3}, {}));
  CHECK(contains(load_error("idx:huge.idx,lb.idx", dir, class_layout({3}, 2)),
                 "IDX dimensions [4294967295, 4294967295] are implausibly large"));
  write_file(dir / "big.csv", "1,2,0\n1e39,2,1\n");
  CHECK(load_error("csv:big.csv", dir, class_layout({2}, 2)) ==
        dir / "big.csv" +
            ":2: column 0 is \"1e39\", out of the range of a 32-bit float (about +-3.4e38)");
  write_file(dir / "inf.csv", "1,2,0\ninf,2,1\n");
  CHECK(load_error("csv:inf.csv", dir, class_layout({2}, 2)) ==
        dir / "inf.csv" + ":2: column 0 is \"inf\", not a finite number");
}
