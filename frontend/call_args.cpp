#include "frontend/call_args.h"

#include <cmath>
#include <fmt/format.h>

namespace netc {

std::string describe(const Expr& e) {
  switch (e.kind) {
  case Expr::Kind::Number: return e.text;
  case Expr::Kind::Name: return "'" + e.text + "'";
  case Expr::Kind::String: return "string \"" + e.text + "\"";
  case Expr::Kind::Call: return "a call to " + e.text;
  case Expr::Kind::Tuple: return "a tuple";
  case Expr::Kind::Neg:
    if (e.args[0]->kind == Expr::Kind::Number) return "-" + e.args[0]->text;
    return "an expression";
  case Expr::Kind::Binary: return "an expression";
  }
  return "?";
}

std::string suggest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string m = closest_match(word, candidates);
  if (!m.empty()) return m;
  for (size_t i = 0; i + 1 < word.size(); ++i) {
    std::string swapped = word;
    std::swap(swapped[i], swapped[i + 1]);
    for (const auto& c : candidates)
      if (c == swapped) return c;
  }
  return "";
}

std::optional<double> literal_number(const Expr& e) {
  if (e.kind == Expr::Kind::Number) return e.number;
  if (e.kind == Expr::Kind::Neg && e.args[0]->kind == Expr::Kind::Number) return -e.args[0]->number;
  return std::nullopt;
}

namespace {

std::string plural(int64_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

} // namespace

CallArgs::CallArgs(const Expr& call, std::span<const ArgSpec> spec, const std::string& file,
                   bool variadic)
    : call_(call), spec_(spec), file_(file), bound_(spec.size(), nullptr) {
  int max_positional = 0, required_positional = 0;
  for (const ArgSpec& s : spec) {
    if (s.keyword_only) continue;
    ++max_positional;
    if (s.required) ++required_positional;
  }
  int given = static_cast<int>(call.args.size());
  for (int i = 0; i < given; ++i) {
    const Expr& arg = *call.args[static_cast<size_t>(i)];
    if (i < max_positional) {
      bound_[static_cast<size_t>(i)] = &arg; // positional parameters come first in a spec
    } else if (variadic) {
      rest_.push_back(&arg);
    } else if (required_positional == max_positional) {
      fail(arg.loc, fmt::format("{} expects {}, found {}", call.text,
                                plural(max_positional, "argument"), given));
    } else {
      fail(arg.loc, fmt::format("{} expects at most {}, found {}", call.text,
                                plural(max_positional, "positional argument"), given));
    }
  }
  for (const KeywordArg& k : call.kwargs) {
    size_t i = 0;
    while (i < spec.size() && spec[i].name != k.name) ++i;
    if (i == spec.size()) {
      std::vector<std::string> names;
      for (const ArgSpec& s : spec) names.emplace_back(s.name);
      std::string hint = suggest(k.name, names);
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      fail(k.loc, fmt::format("{} has no argument '{}'; {}", call.text, k.name,
                              !hint.empty()   ? fmt::format("did you mean '{}'?", hint)
                              : names.empty() ? std::string("it takes no keyword arguments")
                                              : fmt::format("its arguments are: {}", list)));
    }
    if (bound_[i])
      fail(k.loc, fmt::format("{}: argument '{}' is given twice (by position and by name)",
                              call.text, k.name));
    bound_[i] = k.value.get();
  }
  for (size_t i = 0; i < spec.size(); ++i) {
    if (!spec[i].required || bound_[i]) continue;
    int total = given + static_cast<int>(call.kwargs.size());
    if (spec[i].keyword_only)
      fail(call.loc, fmt::format("{} needs the argument {}=...", call.text, spec[i].name));
    if (required_positional == max_positional && !variadic)
      fail(call.loc, fmt::format("{} expects {}, found {}", call.text,
                                 plural(max_positional, "argument"), total));
    fail(call.loc, fmt::format("{} expects at least {}, found {} (missing '{}')", call.text,
                               plural(required_positional, "argument"), total, spec[i].name));
  }
}

void CallArgs::fail(SourceLoc loc, const std::string& message) const {
  throw UserError(file_, loc, message);
}

void CallArgs::fail_arg(const Expr& e, std::string_view name, std::string_view expected) const {
  fail(e.loc,
       fmt::format("{}: '{}' must be {}, found {}", call_.text, name, expected, describe(e)));
}

const Expr* CallArgs::get(std::string_view name) const {
  for (size_t i = 0; i < spec_.size(); ++i)
    if (spec_[i].name == name) return bound_[i];
  internal_error(fmt::format("{} has no parameter '{}' in its spec", call_.text, name));
}

bool CallArgs::declares(std::string_view name) const {
  for (const ArgSpec& s : spec_)
    if (s.name == name) return true;
  return false;
}

const Expr& CallArgs::required(std::string_view name) const {
  const Expr* e = get(name);
  if (!e) internal_error(fmt::format("required argument '{}' of {} is unbound", name, call_.text));
  return *e;
}

int64_t CallArgs::read_int(const Expr& e, std::string_view name) const {
  bool neg = e.kind == Expr::Kind::Neg;
  const Expr& lit = neg ? *e.args[0] : e;
  if (lit.kind != Expr::Kind::Number || !lit.is_int) fail_arg(e, name, "an integer");
  return neg ? -lit.int_value : lit.int_value;
}

double CallArgs::read_number(const Expr& e, std::string_view name) const {
  std::optional<double> v = literal_number(e);
  if (!v) fail_arg(e, name, "a number");
  return *v;
}

bool CallArgs::read_bool(const Expr& e, std::string_view name) const {
  if (e.kind == Expr::Kind::Name && (e.text == "true" || e.text == "false"))
    return e.text == "true";
  fail_arg(e, name, "true or false");
}

std::string CallArgs::read_name(const Expr& e, std::string_view name) const {
  if (e.kind != Expr::Kind::Name) fail_arg(e, name, "a name");
  return e.text;
}

std::vector<int64_t> CallArgs::read_ints(const Expr& e, std::string_view name) const {
  if (e.kind != Expr::Kind::Tuple) return {read_int(e, name)};
  std::vector<int64_t> out;
  for (const auto& item : e.args) {
    if (item->kind == Expr::Kind::Tuple) fail_arg(*item, name, "an integer");
    out.push_back(read_int(*item, name));
  }
  return out;
}

int64_t CallArgs::get_int(std::string_view name, int64_t fallback) const {
  const Expr* e = get(name);
  return e ? read_int(*e, name) : fallback;
}

double CallArgs::get_number(std::string_view name, double fallback) const {
  const Expr* e = get(name);
  return e ? read_number(*e, name) : fallback;
}

bool CallArgs::get_bool(std::string_view name, bool fallback) const {
  const Expr* e = get(name);
  return e ? read_bool(*e, name) : fallback;
}

std::string CallArgs::get_name(std::string_view name, std::string_view fallback) const {
  const Expr* e = get(name);
  return e ? read_name(*e, name) : std::string(fallback);
}

std::array<int64_t, 2> CallArgs::get_pair(std::string_view name,
                                          std::array<int64_t, 2> fallback) const {
  const Expr* e = get(name);
  if (!e) return fallback;
  std::vector<int64_t> v = read_ints(*e, name);
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() != 2) fail_arg(*e, name, "an integer or a pair (h, w)");
  return {v[0], v[1]};
}

} // namespace netc
