#include "frontend/lexer.h"

#include <doctest/doctest.h>

using namespace netc;

namespace {

std::vector<Tok> kinds(std::string_view text) {
  std::vector<Tok> out;
  for (const Token& t : lex(text, "t.nn")) out.push_back(t.kind);
  return out;
}

Diagnostic lex_error(std::string_view text) {
  try {
    lex(text, "t.nn");
  } catch (const UserError& e) {
    return e.diagnostics().at(0);
  }
  return Diagnostic{"", {}, "NO ERROR"};
}

} // namespace

TEST_CASE("tokens of a statement, with positions") {
  auto toks = lex("h = dense(h, 256, init=he)  # comment\n", "t.nn");
  REQUIRE(toks.size() == 14);
  CHECK(toks[0].kind == Tok::Ident);
  CHECK(toks[0].text == "h");
  CHECK(toks[0].loc == SourceLoc{1, 1});
  CHECK(toks[1].kind == Tok::Equals);
  CHECK(toks[1].loc == SourceLoc{1, 3});
  CHECK(toks[2].text == "dense");
  CHECK(toks[2].loc == SourceLoc{1, 5});
  CHECK(toks[2].end_loc == SourceLoc{1, 10});
  CHECK(toks[3].kind == Tok::LParen);
  CHECK(toks[6].kind == Tok::Int);
  CHECK(toks[6].int_value == 256);
  CHECK(toks[6].loc == SourceLoc{1, 14});
  CHECK(toks[8].text == "init");
  CHECK(toks[10].text == "he");
  CHECK(toks[11].kind == Tok::RParen);
  CHECK(toks[12].kind == Tok::Newline);
  CHECK(toks[13].kind == Tok::End);
}

TEST_CASE("numbers: integers, decimals, exponents") {
  auto toks = lex("1 0.5 1e-3 2.5E+2 7e2", "t.nn");
  CHECK(toks[0].kind == Tok::Int);
  CHECK(toks[1].kind == Tok::Float);
  CHECK(toks[1].float_value == 0.5);
  CHECK(toks[2].kind == Tok::Float);
  CHECK(toks[2].float_value == doctest::Approx(1e-3));
  CHECK(toks[3].float_value == 250.0);
  CHECK(toks[4].kind == Tok::Float);
  CHECK(toks[4].float_value == 700.0);
  CHECK(toks[0].text == "1");
  CHECK(toks[2].text == "1e-3");
}

TEST_CASE("punctuation and operators") {
  CHECK(kinds("( ) [ ] { } , : = + - * /") ==
        std::vector<Tok>{Tok::LParen, Tok::RParen, Tok::LBracket, Tok::RBracket, Tok::LBrace,
                         Tok::RBrace, Tok::Comma, Tok::Colon, Tok::Equals, Tok::Plus, Tok::Minus,
                         Tok::Star, Tok::Slash, Tok::Newline, Tok::End});
}

TEST_CASE("dotted names are one identifier / a-b is three tokens") {
  auto toks = lex("dense1.W a-b", "t.nn");
  CHECK(toks[0].text == "dense1.W");
  CHECK(toks[1].text == "a");
  CHECK(toks[2].kind == Tok::Minus);
  CHECK(toks[3].text == "b");
  // Tokens record byte offsets, so the parser can tell that they touch.
  CHECK(toks[1].end == toks[2].offset);
}

TEST_CASE("newlines end statements except inside () and []") {
  CHECK(kinds("a\n\n\nb") ==
        std::vector<Tok>{Tok::Ident, Tok::Newline, Tok::Ident, Tok::Newline, Tok::End});
  CHECK(kinds("f(a,\n  b)\n") == std::vector<Tok>{Tok::Ident, Tok::LParen, Tok::Ident, Tok::Comma,
                                                  Tok::Ident, Tok::RParen, Tok::Newline, Tok::End});
  CHECK(kinds("f32[batch,\n 4]") == std::vector<Tok>{Tok::Ident, Tok::LBracket, Tok::Ident,
                                                     Tok::Comma, Tok::Int, Tok::RBracket,
                                                     Tok::Newline, Tok::End});
  // Braces do not: a train block has one key per line.
  CHECK(kinds("{\na\n}") == std::vector<Tok>{Tok::LBrace, Tok::Newline, Tok::Ident, Tok::Newline,
                                             Tok::RBrace, Tok::Newline, Tok::End});
  CHECK(kinds("# only a comment\n") == std::vector<Tok>{Tok::End});
  CHECK(kinds("") == std::vector<Tok>{Tok::End});
}

TEST_CASE("strings keep their contents / \\\" and \\\\ escape") {
  auto toks = lex(R"(data = "csv:a b.csv:label=0" "q\"\\")", "t.nn");
  CHECK(toks[2].kind == Tok::String);
  CHECK(toks[2].text == "csv:a b.csv:label=0");
  CHECK(toks[3].text == "q\"\\");
}

TEST_CASE("columns count characters, not bytes / CR and a BOM are ignored") {
  auto toks = lex("# é\r\nx = \"ü\" y", "t.nn");
  CHECK(toks[0].loc == SourceLoc{2, 1});
  CHECK(toks[3].loc == SourceLoc{2, 9});
  auto bom = lex("\xEF\xBB\xBFx", "t.nn");
  CHECK(bom[0].text == "x");
  CHECK(bom[0].loc == SourceLoc{1, 1});
}

TEST_CASE("lexical errors are located") {
  auto d = lex_error("x = \"abc\ny");
  CHECK(d.loc == SourceLoc{1, 5});
  CHECK(d.message.find("unterminated string") != std::string::npos);

  d = lex_error("x = 99999999999999999999");
  CHECK(d.loc == SourceLoc{1, 5});
  CHECK(d.message.find("integer 99999999999999999999 is too large") != std::string::npos);

  d = lex_error("x = 1e999");
  CHECK(d.loc == SourceLoc{1, 5});
  CHECK(d.message.find("out of range") != std::string::npos);

  d = lex_error("x = 3x");
  CHECK(d.loc == SourceLoc{1, 5});
  CHECK(d.message.find("invalid number '3x'") != std::string::npos);

  d = lex_error("x = a $ b");
  CHECK(d.loc == SourceLoc{1, 7});
  CHECK(d.message == "unexpected character '$'");

  d = lex_error("x = \"a\\qb\"");
  CHECK(d.loc == SourceLoc{1, 7});
  CHECK(d.message.find("unknown escape") != std::string::npos);

  d = lex_error("x = λ");
  CHECK(d.loc == SourceLoc{1, 5});
  CHECK(d.message == "unexpected character 'λ'");
}

TEST_CASE("binary input is not a text file, at the first bad byte") {
  auto d = lex_error(std::string_view("ab\ncd\0ef", 8));
  CHECK(d.loc == SourceLoc{2, 3});
  CHECK(d.message == "not a text file: found a NUL byte");

  d = lex_error("ok\n é \xff");
  CHECK(d.loc == SourceLoc{2, 4});
  CHECK(d.message.find("not a text file: found byte 0xff") != std::string::npos);

  // Overlong encodings and truncated sequences are not UTF-8 either.
  CHECK(lex_error("\xC0\xAF").message.find("not a text file") != std::string::npos);
  CHECK(lex_error("ab\xE2\x82").loc == SourceLoc{1, 3});
  CHECK(lex_error("\xED\xA0\x80").message.find("not a text file") != std::string::npos);
}
