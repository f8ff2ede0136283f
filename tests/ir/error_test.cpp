// The two error channels of ir/error.h: a located user error, and an internal
// error that says where in netc's sources the broken invariant was caught.
#include "ir/error.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <source_location>
#include <string>

using namespace netc;

TEST_CASE("internal_error: the message names the caller's file and line") {
  std::source_location here = std::source_location::current();
  try {
    internal_error("the graph lost a node"); // on the line after `here`
    FAIL("internal_error returned");
  } catch (const InternalError& e) {
    std::string what = e.what();
    CHECK(what == fmt::format("internal compiler error: the graph lost a node (at {}:{})",
                              here.file_name(), here.line() + 2));
    CHECK(what.find("error_test.cpp:") != std::string::npos);
  }
}

TEST_CASE("internal_error: a logic_error, as the verifier's callers expect") {
  CHECK_THROWS_AS(internal_error("x"), std::logic_error);
}

TEST_CASE("a user error is FILE:LINE:COL: error: MESSAGE, with the parts that are known") {
  CHECK(UserError("m.nn", {3, 7}, "unknown op 'rleu'").what() ==
        std::string("m.nn:3:7: error: unknown op 'rleu'"));
  CHECK(UserError("m.nn", {3, 0}, "x").what() == std::string("m.nn:3: error: x"));
  CHECK(UserError("", {}, "x").what() == std::string("<input>: error: x"));
  UserError two({{"a.nn", {1, 2}, "first"}, {"a.nn", {4, 1}, "second"}});
  CHECK(two.diagnostics().size() == 2);
  CHECK(two.what() == std::string("a.nn:1:2: error: first\na.nn:4:1: error: second"));
}
