// Data specs (SPEC section 3): where the examples come from.
//   fashion-mnist               the IDX files of the Debian package dataset-fashion-mnist
//                               (or of --data-dir DIR)
//   idx:IMAGES,LABELS           two IDX files, gzipped or raw
//   csv:PATH[:label=COL]        one example per row; COL is the first label column (a 0-based
//                               index or a header name); by default the labels are the last
//                               columns
//   npy:X,Y                     X float or uint8 [N, ...], Y [N] or [N, K]
#pragma once

#include <string>
#include <vector>

namespace netc::rt {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

enum class DataKind { fashion_mnist, idx, csv, npy };

struct DataSpec {
  DataKind kind = DataKind::fashion_mnist;
  std::string text; // the spec as given, for messages
  // fashion-mnist: the folder; idx: images, labels; csv: the file; npy: X, Y. Relative paths
  // of idx/csv/npy are taken relative to data_dir when one is given.
  std::vector<std::string> files;
  std::string label_column; // csv only; empty = the last columns
};

// Parses a spec; throws Error naming the spec when it is malformed. Does not
// touch the file system.
DataSpec parse_data_spec(const std::string& spec, const std::string& data_dir = "");

} // namespace netc::rt
