#include "runtime/data/dataset.h"

#include "runtime/data/readers.h"
#include "runtime/error.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <functional>
#include <numeric>

namespace netc::rt {

using data_detail::RawArray;
using data_detail::shape_text;

namespace {

int64_t product(std::vector<int64_t>::const_iterator begin,
                std::vector<int64_t>::const_iterator end) {
  return std::accumulate(begin, end, int64_t(1), std::multiplies<>());
}

std::string ends_with_s(int64_t n) { return n == 1 ? "" : "s"; }

std::string label_names(const DataLayout& layout) {
  std::string out;
  for (const LabelField& f : layout.labels) {
    if (!out.empty()) out += ", ";
    out += f.classes > 0 ? fmt::format("{} class({})", f.name, f.classes)
                         : fmt::format("{} f32[{}]", f.name, f.width);
  }
  return out;
}

// Class labels must be whole numbers in [0, the label's declared class count);
// targets finite. Every format says which file and which example:
// `where(row)` gives "row 37 of FILE" (rows count examples from 0), with the
// file line for CSV: "row 37 (line 39) of FILE".
void check_labels(const std::vector<float>& labels, int64_t rows, const DataLayout& layout,
                  const std::function<std::string(int64_t)>& where) {
  int64_t cols = layout.label_columns();
  for (int64_t r = 0; r < rows; ++r) {
    int64_t c = 0;
    for (const LabelField& f : layout.labels) {
      for (int64_t k = 0; k < f.columns(); ++k, ++c) {
        float v = labels[static_cast<size_t>(r * cols + c)];
        if (f.classes == 0) {
          if (!std::isfinite(v))
            throw Error(fmt::format("target {} at {} is not a finite number (the model's "
                                    "label {})",
                                    v, where(r), f.name));
        } else if (v != std::floor(v)) {
          throw Error(fmt::format("label {} at {} is not a class index (a whole number in "
                                  "0..{} for the model's label {})",
                                  v, where(r), f.classes - 1, f.name));
        } else if (v < 0 || v >= static_cast<float>(f.classes)) {
          throw Error(fmt::format("label {} at {} is outside the {} classes of the model's "
                                  "label {} (0..{})",
                                  v, where(r), f.classes, f.name, f.classes - 1));
        }
      }
    }
  }
}

Dataset make_features(RawArray&& x, const std::string& file, const DataLayout& layout) {
  int64_t per = product(x.shape.begin() + 1, x.shape.end());
  if (per != layout.example_elements())
    throw Error(fmt::format(
        "{}: each example has shape {} ({} value{}), but the model's input {} expects {} ({} "
        "value{})",
        file, shape_text({x.shape.begin() + 1, x.shape.end()}), per, ends_with_s(per),
        layout.input_name, shape_text(layout.example_shape), layout.example_elements(),
        ends_with_s(layout.example_elements())));
  Dataset d;
  d.source = file;
  d.size = x.shape[0];
  d.example_shape = layout.example_shape;
  d.features = std::move(x.values);
  if (x.bytes)
    for (float& v : d.features) v /= 255.0f; // division, as ref_torch.py: bit-equal inputs
  return d;
}

void attach_labels(Dataset& d, RawArray&& y, const std::string& file, const DataLayout& layout) {
  if (y.shape[0] != d.size)
    throw Error(fmt::format("{} has {} example{} but {} has {} label row{}", d.source, d.size,
                            ends_with_s(d.size), file, y.shape[0], ends_with_s(y.shape[0])));
  d.source += "," + file;
  if (layout.labels.empty()) return; // a model without label inputs ignores them
  int64_t per = product(y.shape.begin() + 1, y.shape.end());
  if (per != layout.label_columns())
    throw Error(fmt::format(
        "{}: each example has {} label value{} (shape {}), but the model's labels ({}) take {}",
        file, per, ends_with_s(per), shape_text(y.shape), label_names(layout),
        layout.label_columns()));
  check_labels(y.values, d.size, layout,
               [&](int64_t row) { return fmt::format("row {} of {}", row, file); });
  d.label_fields = layout.labels;
  d.label_columns = per;
  d.labels = std::move(y.values);
}

Dataset load_pair(const std::string& x_file, const std::string& y_file, const DataLayout& layout,
                  bool idx) {
  auto read = idx ? data_detail::read_idx : data_detail::read_npy_array;
  Dataset d = make_features(read(x_file), x_file, layout);
  attach_labels(d, read(y_file), y_file, layout);
  return d;
}

// The first label column: a 0-based index or a header name.
int64_t label_start(const data_detail::CsvTable& t, const DataSpec& spec, int64_t label_cols,
                    const std::string& file) {
  const std::string& col = spec.label_column;
  if (col.empty()) return t.columns - label_cols;
  int64_t start = -1;
  if (std::all_of(col.begin(), col.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    start = col.size() > 9 ? t.columns : std::stoll(col); // huge: out of range below
  } else {
    auto it = std::find(t.header.begin(), t.header.end(), col);
    if (it == t.header.end())
      throw Error(
          t.header.empty()
              ? fmt::format("{} has no header row, so label={} names no column; give the label "
                            "column's 0-based index",
                            file, col)
              : fmt::format("{}: label={}: no column of that name in the header row", file, col));
    start = it - t.header.begin();
  }
  if (start + label_cols > t.columns)
    throw Error(fmt::format("{}: label={} asks for {} label column{} from column {}, but the "
                            "file has {} columns (0..{})",
                            file, col, label_cols, ends_with_s(label_cols), start, t.columns,
                            t.columns - 1));
  return start;
}

Dataset load_csv(const DataSpec& spec, const DataLayout& layout) {
  const std::string& file = spec.files[0];
  int64_t f = layout.example_elements(), l = layout.label_columns();
  std::string why =
      fmt::format("{} for the input {} {}", f, layout.input_name, shape_text(layout.example_shape));
  if (l > 0) why += fmt::format(", {} for the labels", l);
  data_detail::CsvTable t = data_detail::read_csv(file, f + l, why);
  int64_t start = label_start(t, spec, l, file);
  Dataset d;
  d.source = file;
  d.size = t.rows;
  d.example_shape = layout.example_shape;
  d.label_fields = layout.labels;
  d.label_columns = l;
  d.features.reserve(static_cast<size_t>(t.rows * f));
  d.labels.reserve(static_cast<size_t>(t.rows * l));
  for (int64_t r = 0; r < t.rows; ++r) {
    const float* row = t.values.data() + r * t.columns;
    for (int64_t c = 0; c < t.columns; ++c)
      (c >= start && c < start + l ? d.labels : d.features).push_back(row[c]);
  }
  check_labels(d.labels, d.size, layout, [&](int64_t row) {
    return fmt::format("row {} (line {}) of {}", row, t.lines[static_cast<size_t>(row)], file);
  });
  return d;
}

// The four files, gzipped (as the Debian package ships them) or not.
LoadedData load_fashion_mnist(const DataSpec& spec, const DataLayout& layout) {
  namespace fs = std::filesystem;
  const std::string& dir = spec.files[0];
  auto find = [&](const std::string& name) {
    for (const std::string& candidate : {name + ".gz", name}) {
      fs::path p = fs::path(dir) / candidate;
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
    throw Error(
        fmt::format("the Fashion-MNIST files are not in {} (no {}.gz): install the Debian package "
                    "dataset-fashion-mnist, or pass --data-dir",
                    dir, name));
  };
  std::string x = find("train-images-idx3-ubyte"), y = find("train-labels-idx1-ubyte");
  std::string tx = find("t10k-images-idx3-ubyte"), ty = find("t10k-labels-idx1-ubyte");
  LoadedData out;
  out.examples = std::make_shared<const Dataset>(load_pair(x, y, layout, true));
  out.test = std::make_shared<const Dataset>(load_pair(tx, ty, layout, true));
  return out;
}

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

int64_t DataLayout::example_elements() const {
  return product(example_shape.begin(), example_shape.end());
}

int64_t DataLayout::label_columns() const {
  int64_t n = 0;
  for (const LabelField& f : labels) n += f.columns();
  return n;
}

int64_t Dataset::example_elements() const {
  return product(example_shape.begin(), example_shape.end());
}

LoadedData load_data(const DataSpec& spec, const DataLayout& layout) {
  switch (spec.kind) {
  case DataKind::fashion_mnist: return load_fashion_mnist(spec, layout);
  case DataKind::idx:
  case DataKind::npy: {
    LoadedData out;
    out.examples = std::make_shared<const Dataset>(
        load_pair(spec.files[0], spec.files[1], layout, spec.kind == DataKind::idx));
    return out;
  }
  case DataKind::csv: {
    LoadedData out;
    out.examples = std::make_shared<const Dataset>(load_csv(spec, layout));
    return out;
  }
  }
  throw Error("unknown data kind");
}

LoadedData load_data(const std::string& spec, const std::string& data_dir,
                     const DataLayout& layout) {
  return load_data(parse_data_spec(spec, data_dir), layout);
}

Dataset load_inputs(const std::string& path, const DataLayout& layout) {
  DataLayout unlabeled = layout;
  unlabeled.labels.clear();
  if (has_suffix(path, ".npy"))
    return make_features(data_detail::read_npy_array(path), path, layout);
  if (has_suffix(path, ".csv") || has_suffix(path, ".csv.gz")) {
    DataSpec spec;
    spec.kind = DataKind::csv;
    spec.text = "csv:" + path;
    spec.files = {path};
    return load_csv(spec, unlabeled);
  }
  return make_features(data_detail::read_idx(path), path, layout);
}

} // namespace netc::rt
