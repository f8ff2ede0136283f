// The inverse of checkpoint_metadata(): a checkpoint's run record, every
// numeric field parsed with a range check.
//
// Why the checks, when the checksum already matched: the checksum proves the
// bytes are the ones some writer wrote, not that the values make sense (a
// hand-edited file whose checksum was recomputed, another tool's writer, a
// future netc). A batch of 0 used to make `train --resume` spin, an epoch of
// -5 trained "epoch -4", and a step of "abc" ended in the bare text "stoll".
#include "ir/user_input.h"
#include "runtime/checkpoint.h"
#include "runtime/train/train.h"

#include <cfloat>
#include <fmt/format.h>

namespace netc::rt {

namespace {

// Bounds: generous enough for any real run, small enough that the sums and
// products the loop makes with them cannot overflow.
constexpr int64_t kMaxEpochs = int64_t{1} << 31;
constexpr int64_t kMaxSteps = int64_t{1} << 53; // exact as a double, as the step is in reports
constexpr int64_t kMaxBatch = int64_t{1} << 30; // as the --batch flag

class Reader {
public:
  Reader(const SafetensorsFile& f, const std::string& src) : file_(f), src_(src) {}

  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const {
    return checked(key, parse_integer(get(key), lo, hi));
  }
  uint64_t seed(const std::string& key) const { return checked(key, parse_unsigned(get(key))); }
  double real(const std::string& key, double lo, bool allow_infinite = false) const {
    return checked(key, parse_real(get(key), lo, DBL_MAX, allow_infinite));
  }
  bool flag(const std::string& key) const {
    const std::string& v = get(key);
    if (v != "0" && v != "1") throw bad(key, fmt::format("is \"{}\", not 0 or 1", v));
    return v == "1";
  }
  const std::string& get(const std::string& key) const { return checkpoint_meta(file_, key, src_); }
  Error bad(const std::string& key, const std::string& why) const {
    return Error(fmt::format("checkpoint {}: the metadata {} {}", src_, key, why));
  }

private:
  template <class T>
  T checked(const std::string& key, const Parsed<T>& p) const {
    if (!p.value) throw bad(key, p.why);
    return *p.value;
  }
  const SafetensorsFile& file_;
  const std::string& src_;
};

} // namespace

RunRecord read_run_record(const SafetensorsFile& file, const std::string& source) {
  Reader r(file, source);
  RunRecord run;
  run.data = r.get("netc.data");
  run.data_dir = r.get("netc.data_dir");
  run.seed = r.seed("netc.seed");
  run.batch = r.integer("netc.batch", 1, kMaxBatch);
  run.epoch = r.integer("netc.epoch", 0, kMaxEpochs);
  run.step = r.integer("netc.step", 0, kMaxSteps);
  run.lr0 = r.real("netc.lr0", 0);
  try {
    run.normalize = parse_norm_mode(r.get("netc.normalize"));
  } catch (const Error& e) {
    throw r.bad("netc.normalize", fmt::format("is not valid: {}", e.what()));
  }
  // A best value starts at +inf in some states; NaN never.
  run.schedule.lr = r.real("netc.plateau.lr", 0);
  run.schedule.best = r.real("netc.plateau.best", -DBL_MAX, true);
  run.schedule.have_best = r.flag("netc.plateau.have_best");
  run.schedule.bad_epochs = r.integer("netc.plateau.bad_epochs", 0, run.epoch);
  run.early.best = r.real("netc.early.best", -DBL_MAX, true);
  run.early.have_best = r.flag("netc.early.have_best");
  run.early.bad_epochs = r.integer("netc.early.bad_epochs", 0, run.epoch);
  run.early.best_epoch = r.integer("netc.early.best_epoch", 0, run.epoch);
  return run;
}

uint64_t checkpoint_seed(const SafetensorsFile& file, const std::string& source) {
  return Reader(file, source).seed("netc.seed");
}

} // namespace netc::rt
