#include "runtime/data/data.h"

namespace netc::rt {

TrainingData prepare_training_data(const TrainConfig& config, const DataLayout& layout) {
  NormMode mode = parse_norm_mode(config.normalize); // before the slow load, to fail fast
  TrainingData td;
  td.loaded = load_data(config.data, config.data_dir, layout);
  td.splits = split_data(td.loaded, effective_split(config.split, td.loaded), config.seed);
  td.normalizer = Normalizer::fit(mode, td.splits.train);
  return td;
}

} // namespace netc::rt
