#include "frontend/train_block.h"

#include "frontend/call_args.h"

#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>

namespace netc {

namespace {

std::string names_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

// Reads one entry's value; every message is located at the value.
class EntryReader {
public:
  EntryReader(const TrainEntry& entry, const std::string& file) : e_(entry), file_(file) {}

  const Expr& value() const { return *e_.value; }
  const std::string& file() const { return file_; }

  [[noreturn]] void fail(const Expr& at, const std::string& message) const {
    throw UserError(file_, at.loc, message);
  }

  int64_t integer(const Expr& v, std::string_view what, int64_t min) const {
    std::optional<double> n = literal_number(v);
    bool is_int = v.kind == Expr::Kind::Number ? v.is_int
                  : v.kind == Expr::Kind::Neg  ? v.args[0]->is_int
                                               : false;
    if (!n || !is_int) fail(v, fmt::format("{} must be an integer, found {}", what, describe(v)));
    int64_t i = v.kind == Expr::Kind::Neg ? -v.args[0]->int_value : v.int_value;
    if (i < min) fail(v, fmt::format("{} must be at least {}, found {}", what, min, i));
    return i;
  }

  double number(const Expr& v, std::string_view what) const {
    std::optional<double> n = literal_number(v);
    if (!n) fail(v, fmt::format("{} must be a number, found {}", what, describe(v)));
    return *n;
  }

  // One of `choices`, written as a bare name.
  std::string choice(const Expr& v, std::string_view what,
                     const std::vector<std::string>& choices) const {
    if (v.kind != Expr::Kind::Name)
      fail(v, fmt::format("{} must be {}, found {}", what, names_list(choices), describe(v)));
    for (const auto& c : choices)
      if (c == v.text) return c;
    std::string hint = suggest(v.text, choices);
    fail(v, fmt::format("unknown {} '{}'; {}", what, v.text,
                        hint.empty() ? "expected " + names_list(choices)
                                     : fmt::format("did you mean '{}'?", hint)));
  }

  // A name (sgd) or a call (adam(lr=1e-3)) naming one of `kinds`; returns the kind.
  std::string kind(std::string_view what, const std::vector<std::string>& kinds) const {
    const Expr& v = value();
    if (v.kind == Expr::Kind::Call) {
      Expr name;
      name.kind = Expr::Kind::Name;
      name.text = v.text;
      name.loc = v.loc;
      return choice(name, what, kinds);
    }
    return choice(v, what, kinds);
  }

private:
  const TrainEntry& e_;
  const std::string& file_;
};

// Arguments of a train-block call such as adam(lr=1e-3), or none for a bare
// name (adam), where every argument keeps its default.
class Options {
public:
  Options(const EntryReader& r, std::span<const ArgSpec> spec) : r_(r) {
    if (r.value().kind == Expr::Kind::Call) args_.emplace(r.value(), spec, r.file());
  }

  // A number that passes `ok`; `must` says what that means in the message.
  double number(std::string_view name, double fallback, bool (*ok)(double), std::string_view what,
                std::string_view must) const {
    const Expr* e = get(name);
    if (!e) return fallback;
    double v = r_.number(*e, what);
    if (!ok(v)) r_.fail(*e, fmt::format("{} must be {}, found {}", what, must, describe(*e)));
    return v;
  }

  // A switch: true/false (or 1/0).
  bool flag(std::string_view name, bool fallback, std::string_view what) const {
    const Expr* e = get(name);
    if (!e) return fallback;
    if (e->kind == Expr::Kind::Name && (e->text == "true" || e->text == "false"))
      return e->text == "true";
    if (e->kind == Expr::Kind::Number && e->is_int && (e->int_value == 0 || e->int_value == 1))
      return e->int_value == 1;
    r_.fail(*e, fmt::format("{} must be true or false, found {}", what, describe(*e)));
  }

  int64_t integer(std::string_view name, int64_t fallback, std::string_view what,
                  int64_t min) const {
    const Expr* e = get(name);
    return e ? r_.integer(*e, what, min) : fallback;
  }

  // Null when absent, or when this form has no such argument.
  const Expr* get(std::string_view name) const {
    return args_ && args_->declares(name) ? args_->get(name) : nullptr;
  }

private:
  const EntryReader& r_;
  std::optional<CallArgs> args_;
};

bool positive(double v) { return v > 0; }
bool non_negative(double v) { return v >= 0; }
bool unit_open(double v) { return v >= 0 && v < 1; }   // [0, 1)
bool unit_factor(double v) { return v > 0 && v <= 1; } // (0, 1]

void read_data(const EntryReader& r, TrainConfig& c) {
  const Expr& v = r.value();
  static const std::vector<std::string> kForms = {"fashion-mnist", "\"csv:PATH[:label=COL]\"",
                                                  "\"idx:IMAGES,LABELS\"", "\"npy:X,Y\""};
  if (v.kind == Expr::Kind::Name) {
    c.data = r.choice(v, "data set", {"fashion-mnist"});
    return;
  }
  if (v.kind != Expr::Kind::String)
    r.fail(v, fmt::format("data must be {}, found {}", names_list(kForms), describe(v)));
  const std::string& s = v.text;
  bool ok = s == "fashion-mnist";
  for (std::string_view prefix : {"csv:", "idx:", "npy:"})
    if (s.starts_with(prefix) && s.size() > prefix.size()) ok = true;
  if ((s.starts_with("idx:") || s.starts_with("npy:")) && s.find(',') == std::string::npos)
    r.fail(v, fmt::format("data \"{}\" needs two files separated by ',' ({})", s,
                          s.starts_with("idx:") ? "idx:IMAGES,LABELS" : "npy:X,Y"));
  if (!ok) r.fail(v, fmt::format("unknown data source \"{}\"; expected {}", s, names_list(kForms)));
  c.data = s;
}

void read_data_dir(const EntryReader& r, TrainConfig& c) {
  const Expr& v = r.value();
  if (v.kind != Expr::Kind::String || v.text.empty())
    r.fail(v, fmt::format("data_dir must be a quoted path such as \"/data/fmnist\", found {}",
                          describe(v)));
  c.data_dir = v.text;
}

// 50000 / 10000 / test, 0.6 / 0.2 / 0.2, 0.9 / 0.1 / test.
void read_split(const EntryReader& r, TrainConfig& c) {
  std::vector<const Expr*> parts;
  // The parser made a left-leaning tree of '/'; flatten it back into a list.
  auto flatten = [&](auto& self, const Expr& e) -> void {
    if (e.kind == Expr::Kind::Binary && e.op == '/') {
      self(self, *e.args[0]);
      self(self, *e.args[1]);
    } else {
      parts.push_back(&e);
    }
  };
  flatten(flatten, r.value());
  const char* usage = "write train / val / test, as counts (50000 / 10000 / test) or ratios "
                      "(0.6 / 0.2 / 0.2)";
  // Whole-split errors point at its first part, where the value starts.
  if (parts.size() < 2 || parts.size() > 3)
    r.fail(*parts[0], fmt::format("split has {} part{}; {}", parts.size(),
                                  parts.size() == 1 ? "" : "s", usage));
  SplitConfig s;
  s.parts.clear();
  s.use_test_set = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Expr& p = *parts[i];
    if (p.kind == Expr::Kind::Name && p.text == "test" && i == 2) {
      s.use_test_set = true;
      continue;
    }
    std::optional<double> v = literal_number(p);
    if (!v)
      r.fail(p, fmt::format("split parts must be numbers{}, found {}; {}",
                            i == 2 ? " or 'test'" : "", describe(p), usage));
    if (!(*v > 0)) r.fail(p, fmt::format("split parts must be positive, found {}", describe(p)));
    s.parts.push_back(*v);
  }
  // Ratios are all below 1; counts are whole numbers of examples.
  s.ratios = s.parts[0] < 1;
  double sum = 0;
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const Expr& p = *parts[i];
    double v = s.parts[i];
    if (s.ratios && v >= 1)
      r.fail(p, fmt::format("split mixes ratios and counts: {} is not a ratio below 1; {}",
                            describe(p), usage));
    if (!s.ratios && (v < 1 || v != std::floor(v) || p.kind != Expr::Kind::Number || !p.is_int))
      r.fail(p, fmt::format("split mixes counts and ratios: {} is not a whole count; {}",
                            describe(p), usage));
    sum += v;
  }
  if (s.ratios && std::abs(sum - 1.0) > 1e-9)
    r.fail(*parts[0], fmt::format("split ratios must sum to 1, found {:g}", sum));
  c.split = s;
}

// A train-block function (adam, staircase...) and its arguments.
struct Form {
  std::string_view kind;
  std::span<const ArgSpec> spec;
};

template <size_t N>
std::span<const ArgSpec> spec_of(const Form (&forms)[N], std::string_view kind) {
  for (const Form& f : forms)
    if (f.kind == kind) return f.spec;
  internal_error(fmt::format("no argument list for '{}'", kind));
}

template <size_t N>
std::vector<std::string> kinds_of(const Form (&forms)[N]) {
  std::vector<std::string> out;
  for (const Form& f : forms) out.emplace_back(f.kind);
  return out;
}

void read_optimizer(const EntryReader& r, TrainConfig& c) {
  static constexpr ArgSpec kSgd[] = {{"lr"}, {"momentum"}, {"nesterov"}, {"weight_decay"}};
  static constexpr ArgSpec kMomentum[] = {{"lr"}, {"beta"}, {"nesterov"}, {"weight_decay"}};
  static constexpr ArgSpec kRmsprop[] = {{"lr"}, {"beta"}, {"eps"}, {"weight_decay"}};
  static constexpr ArgSpec kAdam[] = {{"lr"}, {"beta1"}, {"beta2"}, {"eps"}, {"weight_decay"}};
  static constexpr Form kForms[] = {{"sgd", kSgd},
                                    {"momentum", kMomentum},
                                    {"rmsprop", kRmsprop},
                                    {"adam", kAdam},
                                    {"adamw", kAdam}};
  OptimizerConfig o;
  o.kind = r.kind("optimizer", kinds_of(kForms));
  Options a(r, spec_of(kForms, o.kind));
  o.lr = a.number("lr", o.lr, positive, "learning rate", "positive");
  o.beta = a.number("beta", o.beta, unit_open, "beta", "in [0, 1)");
  o.beta1 = a.number("beta1", o.beta1, unit_open, "beta1", "in [0, 1)");
  o.beta2 = a.number("beta2", o.beta2, unit_open, "beta2", "in [0, 1)");
  o.eps = a.number("eps", o.eps, positive, "eps", "positive");
  o.momentum = a.number("momentum", o.momentum, unit_open, "momentum", "in [0, 1)");
  o.nesterov = a.flag("nesterov", o.nesterov, "nesterov");
  // PyTorch's AdamW defaults to 0.01; everywhere else decay is opt-in.
  o.weight_decay = a.number("weight_decay", o.kind == "adamw" ? 0.01 : 0.0, non_negative,
                            "weight_decay", "at least 0");
  if (o.kind == "sgd" && o.nesterov && o.momentum == 0)
    r.fail(*a.get("nesterov"), "nesterov needs momentum > 0 (as in PyTorch's SGD)");
  c.optimizer = o;
}

void read_lr_decay(const EntryReader& r, TrainConfig& c) {
  static constexpr ArgSpec kInverse[] = {{"rate"}};
  static constexpr ArgSpec kExponential[] = {{"base"}};
  static constexpr ArgSpec kEpochPower[] = {{"k"}, {"p"}};
  static constexpr ArgSpec kStepSqrt[] = {{"k"}};
  static constexpr ArgSpec kStaircase[] = {{"factor"}, {"every"}};
  static constexpr ArgSpec kPlateau[] = {{"factor"}, {"patience"}, {"min_lr"}};
  static constexpr ArgSpec kCosine[] = {{"warmup"}, {"min_lr"}};
  static constexpr Form kForms[] = {{"none", {}},
                                    {"inverse_time", kInverse},
                                    {"exponential", kExponential},
                                    {"epoch_power", kEpochPower},
                                    {"step_sqrt", kStepSqrt},
                                    {"staircase", kStaircase},
                                    {"plateau", kPlateau},
                                    {"cosine", kCosine}};
  LrDecayConfig d;
  d.kind = r.kind("learning-rate schedule", kinds_of(kForms));
  Options a(r, spec_of(kForms, d.kind));
  d.rate = a.number("rate", d.rate, positive, "rate", "positive");
  d.base = a.number("base", d.base, unit_factor, "base", "in (0, 1]");
  d.k = a.number("k", d.k, positive, "k", "positive");
  d.p = a.number("p", d.p, non_negative, "p", "at least 0");
  d.factor = a.number("factor", d.factor, unit_factor, "factor", "in (0, 1]");
  d.every = a.integer("every", d.every, "every", 1);
  d.patience = a.integer("patience", d.patience, "patience", 1);
  d.min_lr = a.number("min_lr", d.min_lr, non_negative, "min_lr", "at least 0");
  d.warmup = a.integer("warmup", d.warmup, "warmup", 0);
  c.lr_decay = d;
}

void read_early_stop(const EntryReader& r, TrainConfig& c) {
  EarlyStopConfig e;
  std::string kind = r.kind("early stopping rule", {"none", "patience"});
  e.enabled = kind == "patience";
  static constexpr ArgSpec kPatience[] = {{"epochs"}, {"on"}};
  Options a(r, e.enabled ? std::span<const ArgSpec>(kPatience) : std::span<const ArgSpec>());
  e.patience = a.integer("epochs", e.patience, "patience", 1);
  if (const Expr* on = a.get("on"))
    e.on = r.choice(*on, "early-stopping metric", {"val_loss", "val_error"});
  c.early_stop = e;
}

// shift(2), flip, cutout(8): a comma-separated list (a Tuple from the parser),
// or a single transform, or `none`.
void read_augment(const EntryReader& r, TrainConfig& c) {
  static constexpr ArgSpec kPixels[] = {{"pixels", true}};
  static constexpr ArgSpec kPad[] = {{"pad", true}};
  static constexpr ArgSpec kDegrees[] = {{"degrees", true}};
  static constexpr ArgSpec kAmount[] = {{"amount", true}};
  static constexpr ArgSpec kSize[] = {{"size", true}};
  static constexpr Form kForms[] = {{"none", {}},     {"shift", kPixels},   {"crop", kPad},
                                    {"flip", {}},     {"rotate", kDegrees}, {"scale", kAmount},
                                    {"cutout", kSize}};
  const Expr& v = r.value();
  std::vector<const Expr*> items;
  if (v.kind == Expr::Kind::Tuple)
    for (const ExprPtr& a : v.args) items.push_back(a.get());
  else
    items.push_back(&v);
  std::vector<AugmentStep> steps;
  // The stored kind -> the kind and the text as written.
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> written;
  for (const Expr* item : items) {
    if (item->kind != Expr::Kind::Name && item->kind != Expr::Kind::Call)
      r.fail(*item, fmt::format("augment takes transforms such as shift(2), flip, cutout(8), "
                                "found {}",
                                describe(*item)));
    Expr name;
    name.kind = Expr::Kind::Name;
    name.text = item->text;
    name.loc = item->loc;
    std::string kind = r.choice(name, "augmentation", kinds_of(kForms));
    std::span<const ArgSpec> spec = spec_of(kForms, kind);
    if (kind == "none") {
      if (items.size() > 1) r.fail(*item, "augment = none cannot be combined with transforms");
      return;
    }
    if (item->kind == Expr::Kind::Name && !spec.empty())
      r.fail(*item, fmt::format("{} needs its {}, e.g. {}({})", kind, spec[0].name, kind,
                                kind == "crop"    ? "pad=4"
                                : kind == "scale" ? "0.1"
                                                  : "2"));
    std::optional<CallArgs> args;
    if (item->kind == Expr::Kind::Call) args.emplace(*item, spec, r.file());
    AugmentStep step{kind == "crop" ? "shift" : kind, 0};
    if (!spec.empty()) {
      const Expr& a = args->required(spec[0].name);
      std::string what = fmt::format("{}'s {}", kind, spec[0].name);
      if (kind == "rotate" || kind == "scale") {
        double x = r.number(a, what);
        bool ok = kind == "rotate" ? x >= 0 && x <= 90 : x >= 0 && x < 1;
        if (!ok)
          r.fail(a, fmt::format("{} must be {}, found {}", what,
                                kind == "rotate" ? "in [0, 90]" : "in [0, 1)", describe(a)));
        step.amount = x;
      } else {
        step.amount = static_cast<double>(r.integer(a, what, 0));
      }
    }
    // crop(pad=N) and shift(N) are one transform: either may appear once.
    std::string text =
        kind == "crop" ? fmt::format("crop(pad={:g})", step.amount) : augment_text({step});
    auto [it, fresh] = written.emplace(step.kind, std::pair{kind, text});
    if (!fresh && it->second.first == kind)
      r.fail(*item, fmt::format("augment has {} twice", kind));
    if (!fresh)
      r.fail(*item, fmt::format("augment has {} and {}, the same transform (crop(pad=N) is "
                                "shift(N)); keep one",
                                it->second.second, text));
    steps.push_back(step);
  }
  c.augment = steps;
}

using Reader = void (*)(const EntryReader&, TrainConfig&);

struct Key {
  std::string_view name;
  Reader read;
};

const Key kKeys[] = {
    {"data", read_data},
    {"data_dir", read_data_dir},
    {"split", read_split},
    {"normalize",
     [](const EntryReader& r, TrainConfig& c) {
       c.normalize =
           r.choice(r.value(), "normalization", {"global", "per_feature", "per_channel", "none"});
     }},
    {"batch",
     [](const EntryReader& r, TrainConfig& c) { c.batch = r.integer(r.value(), "batch", 1); }},
    {"epochs",
     [](const EntryReader& r, TrainConfig& c) { c.epochs = r.integer(r.value(), "epochs", 1); }},
    {"optimizer", read_optimizer},
    {"lr_decay", read_lr_decay},
    {"early_stop", read_early_stop},
    {"seed",
     [](const EntryReader& r, TrainConfig& c) {
       c.seed = static_cast<uint64_t>(r.integer(r.value(), "seed", 0));
     }},
    {"max_norm",
     [](const EntryReader& r, TrainConfig& c) {
       double v = r.number(r.value(), "max_norm");
       if (!(v > 0))
         r.fail(r.value(), fmt::format("max_norm must be positive, found {}", describe(r.value())));
       c.max_norm = v;
     }},
    {"bayes_error",
     [](const EntryReader& r, TrainConfig& c) {
       double v = r.number(r.value(), "bayes_error");
       if (!unit_open(v))
         r.fail(r.value(),
                fmt::format("bayes_error must be in [0, 1), found {}", describe(r.value())));
       c.bayes_error = v;
     }},
    {"augment", read_augment},
};

} // namespace

const std::vector<std::string>& train_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const Key& key : kKeys) k.emplace_back(key.name);
    return k;
  }();
  return keys;
}

TrainConfig build_train_config(const TrainStmt& block, const std::string& file) {
  TrainConfig c;
  std::map<std::string, SourceLoc, std::less<>> seen;
  for (const TrainEntry& e : block.entries) {
    const Key* key = nullptr;
    for (const Key& k : kKeys)
      if (k.name == e.key) key = &k;
    if (!key) {
      std::string hint = suggest(e.key, train_keys());
      throw UserError(file, e.loc,
                      fmt::format("unknown train key '{}'; {}", e.key,
                                  hint.empty() ? "expected " + names_list(train_keys())
                                               : fmt::format("did you mean '{}'?", hint)));
    }
    auto [it, fresh] = seen.emplace(e.key, e.loc);
    if (!fresh)
      throw UserError(
          file, e.loc,
          fmt::format("duplicate train key '{}' (first set at line {})", e.key, it->second.line));
    key->read(EntryReader(e, file), c);
  }
  return c;
}

} // namespace netc

namespace netc {

void check_augment_input(const TrainStmt& block, const TrainConfig& config, const InputStmt& data,
                         const std::string& file) {
  if (config.augment.empty()) return;
  const TrainEntry* entry = nullptr;
  for (const TrainEntry& e : block.entries)
    if (e.key == "augment") entry = &e;
  if (!entry) return;
  // The transform written as `kinds`, for the message's location.
  auto item_of = [&](std::initializer_list<std::string_view> kinds) -> const Expr& {
    const Expr& v = *entry->value;
    for (const ExprPtr& a : v.args)
      for (std::string_view k : kinds)
        if (v.kind == Expr::Kind::Tuple && a->text == k) return *a;
    return v;
  };
  const std::vector<DimSpec>& dims = data.type.dims;
  std::vector<std::string> shape;
  for (const DimSpec& d : dims) shape.push_back(d.is_batch ? "batch" : std::to_string(d.value));
  std::string written = fmt::format("[{}]", fmt::join(shape, ", "));
  if (dims.size() != 4) {
    // A flat [batch, n*n] input reads as one n x n channel.
    std::string image = "[batch, C, H, W]";
    if (dims.size() == 2 && !dims[1].is_batch) {
      auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(dims[1].value))));
      if (side * side == dims[1].value) image = fmt::format("[batch, 1, {}, {}]", side, side);
    }
    throw UserError(file, entry->value->loc,
                    fmt::format("augment shifts and flips images, but the data input '{}' (line "
                                "{}) is {}; declare it as f32{} and flatten({}) before the dense "
                                "layers",
                                data.name, data.loc.line, written, image, data.name));
  }
  int64_t h = dims[2].value, w = dims[3].value, side = std::min(h, w);
  for (const AugmentStep& s : config.augment) {
    if (s.kind == "shift" && s.amount >= static_cast<double>(side))
      throw UserError(file, item_of({"shift", "crop"}).loc,
                      fmt::format("a shift of {} pixels leaves nothing of a {}x{} image; use "
                                  "at most {}",
                                  s.amount, h, w, side - 1));
    if (s.kind == "cutout" && s.amount > static_cast<double>(side))
      throw UserError(file, item_of({"cutout"}).loc,
                      fmt::format("cutout({}) is larger than the {}x{} image; use at most {}",
                                  s.amount, h, w, side));
  }
}

} // namespace netc
