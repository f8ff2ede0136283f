// The reference interpreter: runs a graph node by node with each op's
// reference implementation. It is the oracle for compiled kernels and the
// engine of `netc run` and `netc gradcheck`; it favours clarity over speed.
#pragma once

#include "ir/graph.h"
#include "ir/op_registry.h"

#include <map>
#include <string>
#include <vector>

namespace netc {

// Evaluates every node; returns the value of each, indexed by ValueId. A
// failure (a missing input, a wrong shape) becomes a UserError located at the
// node's source line.
template <class T>
std::vector<Tensor<T>> interpret(const Graph& g, RefContext<T>& ctx);

// Initial values of every param and state leaf, by name, drawn with the
// param's initializer (attributes init, fan_in, fan_out, scale) from `seed`.
template <class T>
std::map<std::string, Tensor<T>> initial_values(const Graph& g, uint64_t seed, int64_t batch = 1);

extern template std::vector<Tensor<float>> interpret(const Graph&, RefContext<float>&);
extern template std::vector<Tensor<double>> interpret(const Graph&, RefContext<double>&);
extern template std::map<std::string, Tensor<float>> initial_values(const Graph&, uint64_t,
                                                                    int64_t);
extern template std::map<std::string, Tensor<double>> initial_values(const Graph&, uint64_t,
                                                                     int64_t);
extern template std::vector<Tensor<long double>> interpret(const Graph&, RefContext<long double>&);

} // namespace netc
