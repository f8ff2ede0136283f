// What `netc check` reports about a model: its interface, parameters and
// forward FLOPs, grouped by the layer that created them.
#pragma once

#include "ir/graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace netc {

struct LayerSummary {
  std::string name;            // "dense1"; "(ops)" for primitives outside any layer
  std::vector<ValueId> params; // Param leaves of the layer
  int64_t trainable = 0;       // parameter elements that receive gradients
  int64_t frozen = 0;          // parameter elements that do not
  int64_t flops = 0;           // forward FLOPs per example
};

struct ModelSummary {
  std::vector<LayerSummary> layers; // in order of first appearance
  int64_t trainable = 0;
  int64_t frozen = 0;
  int64_t state = 0; // batch-norm running statistics and other state elements
  int64_t flops = 0;
};

ModelSummary summarize(const Graph& g);

// The human-readable report of `netc check`.
std::string format_summary(const Graph& g, const ModelSummary& s);

// 235914 -> "235,914"
std::string with_thousands(int64_t n);

} // namespace netc
