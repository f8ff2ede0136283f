// The `train { KEY = VALUE ... }` block -> TrainConfig, with every value
// range-checked at its source position (the IR carries no source text, so
// this is the last place that can point at a bad learning rate).
#pragma once

#include "frontend/ast.h"
#include "ir/train_config.h"

#include <string>
#include <vector>

namespace netc {

// The keys a train block accepts, in documentation order.
const std::vector<std::string>& train_keys();

// Keys absent from the block keep TrainConfig's defaults. Throws UserError
// for an unknown or duplicate key or an invalid value.
TrainConfig build_train_config(const TrainStmt& block, const std::string& file);

// Checks the block's `augment` against the model's data input (its first
// `input`, which training feeds with the examples): shifts and flips need
// images [batch, C, H, W], and each transform must fit in H x W. Throws
// UserError located at the transform.
void check_augment_input(const TrainStmt& block, const TrainConfig& config, const InputStmt& data,
                         const std::string& file);

} // namespace netc
