// Reads the IR text form written by print_graph (ir/printer.h) back into a
// Graph. Nodes are rebuilt through GraphBuilder, so every op's shape rule runs
// again and the printed type must equal the one it infers: the text cannot
// describe an ill-typed graph.
//
// Besides printer output, the parser accepts what people write in tests:
// blank lines, leading indentation, `# comments` (not on the `train` line,
// whose rest is JSON), attributes in any order, and names bare or quoted.
#pragma once

#include "ir/graph.h"

#include <string>
#include <string_view>

namespace netc {

// Throws UserError located in the text (filename:line:col) on a malformed
// line, an unknown op (with a did-you-mean), a use of %N before its
// definition, out-of-order numbering, or a type that differs from the
// inferred one. The result is not verified (ir/verifier.h checks leaf names).
Graph parse_graph_text(std::string_view text, const std::string& filename);

} // namespace netc
