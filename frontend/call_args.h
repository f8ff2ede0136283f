// Binding a call's arguments to a function's declared parameters, and reading
// literal arguments (integers, numbers, names, tuples) with located errors.
// Shared by the model's functions (dense(h, 256, init=he)) and the train
// block's (adam(lr=1e-3)), so both report arity and typos the same way.
#pragma once

#include "frontend/ast.h"

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

struct ArgSpec {
  std::string_view name;
  bool required = false;
  bool keyword_only = false; // name=, frozen=: never positional
};

// "'he'", "2.5", "-1", "a tuple", "a call to relu": how an argument reads in
// "found X".
std::string describe(const Expr& e);

// closest_match, plus one swap of adjacent letters (rleu -> relu), which
// plain edit distance counts as two typos and rejects in short words.
std::string suggest(const std::string& word, const std::vector<std::string>& candidates);

// The value of a numeric literal, including a negated one (-0.1).
std::optional<double> literal_number(const Expr& e);

class CallArgs {
public:
  // Binds call.args and call.kwargs to `spec` in order. Throws UserError for
  // too many or too few arguments, an unknown keyword (with a did-you-mean)
  // or a parameter given twice. With `variadic`, positional arguments beyond
  // the positional parameters are collected as rest().
  CallArgs(const Expr& call, std::span<const ArgSpec> spec, const std::string& file,
           bool variadic = false);

  const Expr& call() const { return call_; }
  const std::string& func() const { return call_.text; }
  SourceLoc loc() const { return call_.loc; }
  const std::string& file() const { return file_; }

  const Expr* get(std::string_view name) const;        // null when not given
  bool declares(std::string_view name) const;          // the function has this parameter
  const Expr* at(size_t i) const { return bound_[i]; } // by position in the spec
  bool has(std::string_view name) const { return get(name) != nullptr; }
  const Expr& required(std::string_view name) const;
  std::span<const Expr* const> rest() const { return rest_; }

  // Literal readers; absent arguments yield the fallback.
  int64_t get_int(std::string_view name, int64_t fallback) const;
  double get_number(std::string_view name, double fallback) const;
  bool get_bool(std::string_view name, bool fallback) const;
  std::string get_name(std::string_view name, std::string_view fallback) const;
  // An int n (meaning (n, n)) or a tuple (h, w).
  std::array<int64_t, 2> get_pair(std::string_view name, std::array<int64_t, 2> fallback) const;

  // Readers of a given argument expression; `name` is for the message.
  int64_t read_int(const Expr& e, std::string_view name) const;
  double read_number(const Expr& e, std::string_view name) const;
  bool read_bool(const Expr& e, std::string_view name) const;
  std::string read_name(const Expr& e, std::string_view name) const;
  std::vector<int64_t> read_ints(const Expr& e, std::string_view name) const; // n or (a, b, ...)

  // "FUNC: MESSAGE" at `loc`.
  [[noreturn]] void fail(SourceLoc loc, const std::string& message) const;
  [[noreturn]] void fail_arg(const Expr& e, std::string_view name, std::string_view expected) const;

private:
  const Expr& call_;
  std::span<const ArgSpec> spec_;
  const std::string& file_;
  std::vector<const Expr*> bound_; // by spec index
  std::vector<const Expr*> rest_;
};

} // namespace netc
