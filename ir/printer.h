// The IR's text form: one line per node, readable by people and by
// parse_graph_text (ir/text_parser.h), which rebuilds the same graph.
//
//   model fmnist_mlp
//   source "examples/fmnist_mlp.nn"
//   %0 = input() {name="x", role="data"} : f32[batch,1,28,28] @5:1
//   %2 = matmul(%0, %1) {layer="dense1"} : f32[batch,256] @9:5
//   output probs = %12 @18:1
//   loss loss = %15 @19:1
//   train {"batch":128,...}
//
// `netc dump` shows it after every stage, and pass tests write their inputs in it.
#pragma once

#include "ir/attrs.h"
#include "ir/graph.h"

#include <string>

namespace netc {

struct PrintOptions {
  // Off for compact golden files; such text no longer parses back when the
  // attributes are omitted (shape rules read them).
  bool locations = true;
  bool attributes = true;
  bool train_config = true;
};

std::string print_graph(const Graph& g, const PrintOptions& options = {});

// One node line without the trailing newline: "%2 = matmul(%0, %1) : f32[batch,256] @9:5".
std::string print_node(const Graph& g, ValueId v, const PrintOptions& options = {});

// Attribute values as the text form writes them: 3, 0.001, 1.0, 1e-08, "he", [1,2].
// Doubles always carry a '.' or an exponent and use the shortest text that reads
// back to the same double, so they round-trip exactly and never read back as ints.
std::string format_attr_value(const AttrValue& v);
std::string format_double(double x);
// Who reads a quoted string back, which decides the escapes it may use.
enum class QuoteFor {
  // The text form: \" \\ \n \t \r and \xHH for other control bytes, all of
  // which parse_graph_text reads back.
  Text,
  // A Graphviz label: only \" \\ and \n. DOT reads \r and \l as line breaks
  // justified right and left and has no \t or \xHH, so a carriage return is
  // dropped and other control bytes pass through raw.
  Dot,
};
// A double-quoted string; UTF-8 passes through unchanged.
std::string quote_string(std::string_view s, QuoteFor reader = QuoteFor::Text);
// A name as written after `model`, `output`, `loss`: bare when it is an
// identifier ([A-Za-z_][A-Za-z0-9_]*), quoted otherwise.
std::string format_name(std::string_view s);

} // namespace netc
