#include "ir/dot.h"

#include "ir/printer.h"
#include "ir/text_parser.h"

#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <regex>
#include <unistd.h>

using namespace netc;

namespace {

// Graphviz is not a build dependency, so the output is checked textually: a
// digraph whose every body line is one statement, with balanced quotes.
const char* kModel = R"(
model "mlp \"quoted\""
%0 = input() {name="x", role="data"} : f32[batch,4]
%1 = input() {name="y"} : i64[batch]
%2 = param() {frozen=0, name="fc.W"} : f32[4,3]
%3 = param() {frozen=1, name="base.b"} : f32[3]
%4 = matmul(%0, %2) : f32[batch,3]
%5 = add(%4, %3) : f32[batch,3]
%6 = hyper() {name="keep", value=0.5} : f32[]
%7 = dropout(%5, %6) {stream=0} : f32[batch,3]
%8 = state() {name="steps\\count"} : f32[1]
%9 = softmax_cross_entropy(%7, %1) : f32[]
%10 = constant() {value=0.25} : f32[]
%11 = mul(%9, %10) : f32[]
%12 = softmax(%7) : f32[batch,3]
output probs = %12
output "raw logits" = %7
loss total = %11
)";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(text.substr(start, nl - start));
  return out;
}

// The line that declares vertex `id`.
std::string vertex(const std::string& dot, const std::string& id) {
  for (const std::string& l : lines_of(dot))
    if (l.starts_with("  " + id + " [")) return l;
  FAIL("no vertex " << id);
  return {};
}

// True when every '"' outside an escape opens or closes a string and the
// line's strings are all closed.
bool quotes_balanced(const std::string& line) {
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (in_string && line[i] == '\\') {
      ++i;
      continue;
    }
    if (line[i] == '"') in_string = !in_string;
  }
  return !in_string;
}

} // namespace

TEST_CASE("dot: a digraph with one statement per line") {
  Graph g = parse_graph_text(kModel, "m.ir");
  std::string dot = print_dot(g);
  std::vector<std::string> lines = lines_of(dot);
  REQUIRE(lines.size() > 2);
  CHECK(lines.front() == "digraph \"mlp \\\"quoted\\\"\" {");
  CHECK(lines.back() == "}");
  CHECK(dot.back() == '\n');
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK(lines[i].starts_with("  "));
    CHECK(lines[i].ends_with(";"));
    CHECK(quotes_balanced(lines[i]));
  }
}

TEST_CASE("dot: one vertex per node and one edge per input, output and loss") {
  Graph g = parse_graph_text(kModel, "m.ir");
  std::string dot = print_dot(g);
  int vertices = 0, edges = 0;
  std::regex vertex_re(R"(^  n\d+ \[label=)"), edge_re(R"( -> )");
  for (const std::string& l : lines_of(dot)) {
    if (std::regex_search(l, vertex_re)) ++vertices;
    if (std::regex_search(l, edge_re)) ++edges;
  }
  int inputs = 0;
  for (const Node& n : g.nodes) inputs += static_cast<int>(n.inputs.size());
  CHECK(vertices == g.size());
  CHECK(edges == inputs + 2 + 1);
  CHECK(dot.find("  n0 -> n4 [label=\"0\"];\n") != std::string::npos);
  CHECK(dot.find("  n2 -> n4 [label=\"1\"];\n") != std::string::npos);
  CHECK(dot.find("  n7 -> n12;\n") != std::string::npos); // one input: no operand number
}

TEST_CASE("dot: labels carry the op, the leaf name and the type") {
  std::string dot = print_dot(parse_graph_text(kModel, "m.ir"));
  CHECK(vertex(dot, "n0").find("label=\"%0 input x\\nf32[batch,4]\"") != std::string::npos);
  CHECK(vertex(dot, "n4").find("label=\"%4 matmul\\nf32[batch,3]\"") != std::string::npos);
  CHECK(vertex(dot, "n10").find("label=\"%10 constant 0.25\\nf32[]\"") != std::string::npos);
  // A backslash in a name is doubled, so Graphviz does not read an escape.
  CHECK(vertex(dot, "n8").find("label=\"%8 state steps\\\\count\\nf32[1]\"") != std::string::npos);
}

TEST_CASE("dot: leaves are drawn by role") {
  std::string dot = print_dot(parse_graph_text(kModel, "m.ir"));
  CHECK(vertex(dot, "n0").find("shape=ellipse") != std::string::npos);
  std::string trainable = vertex(dot, "n2"), frozen = vertex(dot, "n3");
  CHECK(trainable.find("shape=box") != std::string::npos);
  CHECK(frozen.find("shape=box") != std::string::npos);
  CHECK(frozen.find("#cccccc") != std::string::npos);
  CHECK(trainable.find("#cccccc") == std::string::npos);
  CHECK(vertex(dot, "n6").find("shape=note") != std::string::npos);
  CHECK(vertex(dot, "n10").find("shape=note") != std::string::npos);
  CHECK(vertex(dot, "n8").find("style=dashed") != std::string::npos);
  CHECK(vertex(dot, "n4").find("style=rounded") != std::string::npos);
}

TEST_CASE("dot: outputs and the loss are marked") {
  std::string dot = print_dot(parse_graph_text(kModel, "m.ir"));
  CHECK(vertex(dot, "out0").find("label=\"output probs\"") != std::string::npos);
  CHECK(vertex(dot, "out1").find("label=\"output raw logits\"") != std::string::npos);
  CHECK(dot.find("  n12 -> out0;\n") != std::string::npos);
  CHECK(dot.find("  n7 -> out1;\n") != std::string::npos);
  std::string loss = vertex(dot, "loss");
  CHECK(loss.find("label=\"loss total\"") != std::string::npos);
  CHECK(loss.find("color=red") != std::string::npos);
  CHECK(dot.find("  n11 -> loss [color=red];\n") != std::string::npos);
}

TEST_CASE("dot: an unnamed, empty graph is still a valid digraph") {
  Graph empty; // a named graph: a temporary trips GCC 12's -Wmaybe-uninitialized
  CHECK(print_dot(empty) == "digraph \"netc\" {\n  rankdir=TB;\n"
                            "  node [fontname=\"Helvetica\", fontsize=10];\n"
                            "  edge [fontname=\"Helvetica\", fontsize=8];\n}\n");
}

TEST_CASE("dot: quoting") {
  auto dot_quote = [](std::string_view s) { return quote_string(s, QuoteFor::Dot); };
  CHECK(dot_quote("a") == "\"a\"");
  CHECK(dot_quote("a\"b") == "\"a\\\"b\"");
  CHECK(dot_quote("a\\b") == "\"a\\\\b\"");
  CHECK(dot_quote("a\nb\r") == "\"a\\nb\"");
  // DOT has no \t or \xHH (and \r is a line break): such bytes stay raw, where
  // the text form escapes them.
  CHECK(dot_quote("a\tb\x01"
                  "c\x7f") == "\"a\tb\x01"
                              "c\x7f\"");
  CHECK(quote_string("a\tb\x01"
                     "c\x7f") == "\"a\\tb\\x01c\\x7f\"");
  CHECK(dot_quote("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
}

TEST_CASE("dot: Graphviz accepts the output, when it is installed") {
  // Optional: Graphviz is not a dependency; without `dot` the textual checks
  // above stand alone.
  if (std::system("dot -V >/dev/null 2>&1") != 0) {
    MESSAGE("Graphviz 'dot' not found; skipped");
    return;
  }
  namespace fs = std::filesystem;
  fs::path file = fs::temp_directory_path() / fmt::format("netc_dot_test_{}.dot", ::getpid());
  {
    std::ofstream out(file);
    out << print_dot(parse_graph_text(kModel, "m.ir"));
  }
  std::string cmd = fmt::format("dot -Tsvg '{}' -o /dev/null", file.string());
  CHECK(std::system(cmd.c_str()) == 0);
  fs::remove(file);
}
