// Helpers for the frontend tests: build a model from text, find its leaves,
// and check that bad input fails with the expected located message.
#pragma once

#include "frontend/frontend.h"
#include "ir/error.h"
#include "ir/graph.h"

#include <doctest/doctest.h>
#include <string>
#include <string_view>

namespace netc::test {

inline Graph build(std::string_view text) { return parse_model(text, "test.nn"); }

// The first diagnostic of the UserError that building `text` throws. Any other
// outcome comes back as a diagnostic at 0:0 whose message says what happened,
// so the caller's checks fail with a readable reason.
inline Diagnostic first_error(std::string_view text) {
  try {
    build(text);
    return Diagnostic{"", {}, "NO ERROR: the model built"};
  } catch (const UserError& e) {
    return e.diagnostics().at(0);
  } catch (const std::exception& e) {
    return Diagnostic{"", {}, std::string("NOT A USER ERROR: ") + e.what()};
  }
}

inline const Node& leaf(const Graph& g, OpKind kind, const std::string& name) {
  auto v = g.find_leaf(kind, name);
  REQUIRE_MESSAGE(v.has_value(), "no leaf named " << name);
  return g.node(*v);
}

inline const Node& param(const Graph& g, const std::string& name) {
  return leaf(g, OpKind::Param, name);
}

// The one node of this kind (the test models are small enough to say so).
inline const Node& only(const Graph& g, OpKind kind) {
  const Node* found = nullptr;
  int count = 0;
  for (const Node& n : g.nodes)
    if (n.op == kind) found = &n, ++count;
  REQUIRE_MESSAGE(count == 1, "expected one " << std::string(op_name(kind)) << ", found " << count);
  return *found;
}

inline int count_ops(const Graph& g, OpKind kind) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == kind;
  return n;
}

inline int64_t trainable_parameters(const Graph& g) {
  int64_t n = 0;
  for (ValueId v : g.leaves(OpKind::Param))
    if (g.node(v).attrs.get_int("frozen") == 0) n += g.node(v).type.shape.static_elements();
  return n;
}

} // namespace netc::test

// Building `text` fails at LINE:COL with a message containing FRAGMENT.
#define CHECK_USER_ERROR(text, line_, col_, fragment)                                              \
  do {                                                                                             \
    netc::Diagnostic d_ = netc::test::first_error(text);                                           \
    INFO(d_.format());                                                                             \
    CHECK(d_.loc.line == (line_));                                                                 \
    CHECK(d_.loc.col == (col_));                                                                   \
    CHECK(d_.message.find(fragment) != std::string::npos);                                         \
  } while (0)
