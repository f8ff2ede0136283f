// The .nn parser: tokens -> syntax tree. Recursive descent over a small
// grammar (docs/language.md), with a hard bound on nesting so that hostile
// input gets a located error instead of a stack overflow.
#pragma once

#include "frontend/ast.h"

#include <string>
#include <string_view>

namespace netc {

// Parentheses, calls and unary minus may nest this deep.
inline constexpr int kMaxNesting = 256;
// An expression tree may be this tall (long operator chains grow it too).
inline constexpr int kMaxExprDepth = 1000;

// Parses a whole file; throws UserError at the first syntax error.
Module parse(std::string_view text, const std::string& file);

} // namespace netc
