// Blocks: `def NAME(PARAMS) { ... return EXPR }`, expanded inline at each call
// so that the IR stays a flat graph. A call binds each parameter either to a
// tensor (evaluated once, in the caller's scope) or to a constant (a number,
// a name such as he, a tuple), which is substituted into a copy of the body:
// the layers read their literal arguments from the syntax tree, so
// conv2d(x, c, stride=stride) must see the numbers themselves.
#include "frontend/model_builder.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <optional>
#include <utility>

namespace netc {

namespace {

// Bounds the expansion: blocks that each call the next one twice double the
// model at every level, and a runaway expansion should be an error, not an
// exhausted memory.
constexpr int kMaxBlockCalls = 10000;

using Constants = std::map<std::string, const Expr*, std::less<>>;

// A deep copy of `e` in which every name bound in `constants` is replaced by
// (a copy of) its constant, located where the name stands, so that a layer
// that rejects the value points into the block (the call gets a note).
// Keyword names and callees are not values, so they stay as written.
ExprPtr substituted(const Expr& e, const Constants& constants,
                    std::optional<SourceLoc> at = std::nullopt) {
  if (e.kind == Expr::Kind::Name && !at)
    if (auto it = constants.find(e.text); it != constants.end())
      return substituted(*it->second, {}, e.loc);
  auto copy = std::make_unique<Expr>();
  copy->kind = e.kind;
  copy->loc = at.value_or(e.loc);
  copy->text = e.text;
  copy->number = e.number;
  copy->int_value = e.int_value;
  copy->is_int = e.is_int;
  copy->op = e.op;
  copy->depth = e.depth;
  for (const ExprPtr& a : e.args) copy->args.push_back(substituted(*a, constants, at));
  for (const KeywordArg& k : e.kwargs)
    copy->kwargs.push_back(KeywordArg{k.name, k.loc, substituted(*k.value, constants, at)});
  return copy;
}

// The calls in `e` (callees that may be blocks), outermost first.
void collect_calls(const Expr& e, std::vector<const Expr*>& out) {
  if (e.kind == Expr::Kind::Call) out.push_back(&e);
  for (const ExprPtr& a : e.args) collect_calls(*a, out);
  for (const KeywordArg& k : e.kwargs) collect_calls(*k.value, out);
}

bool is_identifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Depth-first search of the blocks' call graph; a call to a block whose
// search is still open closes a cycle.
class CycleFinder {
public:
  CycleFinder(const std::map<std::string, const DefStmt*, std::less<>>& defs,
              const std::string& file)
      : defs_(defs), file_(file) {}

  void visit(const DefStmt& def) {
    if (state_[def.name] != 0) return;
    state_[def.name] = 1;
    path_.push_back(def.name);
    std::vector<const Expr*> calls;
    for (const AssignStmt& s : def.body) collect_calls(*s.value, calls);
    collect_calls(*def.result, calls);
    for (const Expr* call : calls) {
      auto it = defs_.find(call->text);
      if (it == defs_.end()) continue;
      if (state_[call->text] == 1) {
        auto from = std::find(path_.begin(), path_.end(), call->text);
        std::string cycle;
        for (auto p = from; p != path_.end(); ++p) cycle += *p + " -> ";
        cycle += call->text;
        throw UserError(file_, call->loc,
                        fmt::format("block '{}' is recursive ({}); a block cannot call itself, "
                                    "directly or through other blocks",
                                    call->text, cycle));
      }
      visit(*it->second);
    }
    path_.pop_back();
    state_[def.name] = 2;
  }

private:
  const std::map<std::string, const DefStmt*, std::less<>>& defs_;
  const std::string& file_;
  std::map<std::string, int, std::less<>> state_; // 0 new, 1 open, 2 done
  std::vector<std::string> path_;
};

} // namespace

void ModelBuilder::collect_defs(const Module& m) {
  auto check_name = [&](const std::string& name, SourceLoc loc, std::string_view what) {
    if (name.find('.') != std::string::npos)
      fail(loc, fmt::format("'{}': a {} name cannot contain '.'", name, what));
    if (is_reserved(name))
      fail(loc, fmt::format("'{}' is reserved and cannot name a {}", name, what));
  };
  for (const Stmt& s : m.stmts) {
    const auto* def = std::get_if<DefStmt>(&s);
    if (!def) continue;
    check_name(def->name, def->loc, "block");
    if (find_builtin(def->name) || def->name == "l1" || def->name == "l2")
      fail(def->loc,
           fmt::format("'{}' is a built-in function; a block needs another name", def->name));
    if (auto it = defs_.find(def->name); it != defs_.end())
      fail(def->loc, fmt::format("block '{}' is already defined at line {}", def->name,
                                 it->second->loc.line));
    for (const DefParam& p : def->params) {
      check_name(p.name, p.loc, "parameter");
      if (p.name == "name")
        fail(p.loc, "'name' cannot be a block parameter: name= at a call sets the prefix of the "
                    "parameters the call creates");
    }
    defs_[def->name] = def;
  }
  CycleFinder cycles(defs_, file_);
  for (const Stmt& s : m.stmts)
    if (const auto* def = std::get_if<DefStmt>(&s)) cycles.visit(*def);
}

const DefStmt* ModelBuilder::find_def(std::string_view name) const {
  auto it = defs_.find(name);
  return it == defs_.end() ? nullptr : it->second;
}

std::string ModelBuilder::next_local_name(std::string_view kind) {
  Scope& scope = scopes_.back();
  std::string name;
  // Skip counters that a name= already took, so a default name never
  // silently reuses an explicitly named layer or call.
  do {
    name = fmt::format("{}{}", kind, ++scope.counters[std::string(kind)]);
  } while (scope.taken.count(name));
  scope.taken.insert(name);
  return name;
}

std::string ModelBuilder::scoped(const std::string& local) const {
  const std::string& prefix = scopes_.back().prefix;
  return prefix.empty() ? local : prefix + "." + local;
}

// An argument is a tensor when it is one in the caller's scope: a value's
// name, an operation, a call of a layer, function or block. Anything else (a
// number, a tuple, he, same, normal(0.02)) is a constant for the body.
bool ModelBuilder::passes_as_tensor(const Expr& arg) const {
  switch (arg.kind) {
  case Expr::Kind::Name:
    return names_.count(arg.text) || (!in_block() && leaf_names_.count(arg.text));
  case Expr::Kind::Number:
  case Expr::Kind::String:
  case Expr::Kind::Tuple: return false;
  case Expr::Kind::Neg: return !literal_number(arg);
  case Expr::Kind::Binary: return true;
  case Expr::Kind::Call:
    return find_builtin(arg.text) || find_def(arg.text) || arg.text == "l1" || arg.text == "l2";
  }
  return false;
}

ValueId ModelBuilder::eval_block_call(const Expr& call, const DefStmt& def) {
  if (++block_calls_ > kMaxBlockCalls)
    fail(call.loc, fmt::format("too many block calls (limit {}): the blocks expand into a model "
                               "that is too large",
                               kMaxBlockCalls));
  std::vector<ArgSpec> spec;
  for (const DefParam& p : def.params) spec.push_back(ArgSpec{p.name, !p.default_value});
  spec.push_back(ArgSpec{"name", false, true});
  CallArgs a(call, spec, file_);

  // Tensors first, in the caller's scope and in argument order, as for a layer.
  Constants constants;
  std::map<std::string, Binding, std::less<>> params;
  for (size_t i = 0; i < def.params.size(); ++i) {
    const DefParam& p = def.params[i];
    const Expr* arg = a.at(i);
    if (!arg)
      constants[p.name] = p.default_value.get();
    else if (passes_as_tensor(*arg))
      params[p.name] = Binding{eval(*arg), Binding::Kind::Variable, p.loc};
    else
      constants[p.name] = arg;
  }
  std::string local;
  if (const Expr* name = a.get("name")) {
    if (name->kind != Expr::Kind::Name && name->kind != Expr::Kind::String)
      a.fail_arg(*name, "name", "a name or a path such as \"stage2.block1\"");
    local = name->text;
    size_t start = 0;
    for (;;) {
      size_t dot = local.find('.', start);
      std::string_view part = std::string_view(local).substr(start, dot - start);
      if (!is_identifier(part) || is_reserved(part))
        fail(name->loc, fmt::format("'{}' cannot name a block call: write a name or a path of "
                                    "names such as stage2.block1",
                                    local));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    scopes_.back().taken.insert(local);
  } else {
    local = next_local_name(def.name);
  }

  // Enter the call's scope; leave it however the body ends.
  Scope inner;
  inner.prefix = scoped(local);
  scopes_.push_back(std::move(inner));
  outer_names_.push_back(std::exchange(names_, std::move(params)));
  running_defs_.push_back(&def);
  struct Leave {
    ModelBuilder& b;
    ~Leave() {
      b.names_ = std::move(b.outer_names_.back());
      b.outer_names_.pop_back();
      b.scopes_.pop_back();
      b.running_defs_.pop_back();
    }
  } leave{*this};

  try {
    return run_block(def, constants);
  } catch (const UserError& e) {
    std::vector<Diagnostic> diags = e.diagnostics();
    diags.push_back(
        Diagnostic{file_, call.loc, fmt::format("in call to '{}' here", def.name), true});
    throw UserError(std::move(diags));
  }
}

ValueId ModelBuilder::run_block(const DefStmt& def, const Constants& constants) {
  for (const AssignStmt& s : def.body) {
    if (auto it = constants.find(s.name); it != constants.end())
      fail(s.loc, fmt::format("'{}' is a parameter of '{}' that holds a constant ({}) in this "
                              "call; it cannot be assigned",
                              s.name, def.name, describe(*it->second)));
    ExprPtr value = substituted(*s.value, constants);
    define(s.name, s.loc, eval(*value), Binding::Kind::Variable);
  }
  ExprPtr result = substituted(*def.result, constants);
  return eval(*result);
}

} // namespace netc
