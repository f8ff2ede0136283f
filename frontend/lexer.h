// The .nn lexer: text -> tokens. The language is line-oriented, so newlines
// are tokens, except inside () and [] where an expression may span lines.
#pragma once

#include "ir/error.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

enum class Tok {
  Ident,  // letters, digits, '_' and inner dots (dense1.W names a layer's param)
  Int,    // 128
  Float,  // 1e-3, 0.5
  String, // "csv:data.csv" (text holds the unescaped contents)
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  Newline,
  End,
};

struct Token {
  Tok kind = Tok::End;
  std::string text; // the spelling (strings: the contents)
  SourceLoc loc;
  size_t offset = 0; // byte offsets into the text: tokens "touch" when one ends where
  size_t end = 0;    // the next begins (fashion-mnist is one name in the train block)
  SourceLoc end_loc; // just past the last character: where "missing ')'" points
  int64_t int_value = 0;
  double float_value = 0.0; // also set for Int tokens
};

// "identifier", "')'", "end of line": how a token kind reads in a message.
std::string describe(Tok kind);
// How a token reads in "found X": "')'", "'relu'", "number 12", "end of line".
std::string describe(const Token& t);

// Rejects text that is not UTF-8 (or holds NUL bytes) with "not a text file"
// at the first bad byte.
void check_text(std::string_view text, const std::string& file);

// Tokenizes `text`; throws UserError at the first bad character. The last
// token is always End, preceded by a Newline when the text has any tokens.
std::vector<Token> lex(std::string_view text, const std::string& file);

} // namespace netc
