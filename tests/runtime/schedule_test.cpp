// The learning-rate schedules against the notes' table and their formulas.
#include "runtime/schedule.h"

#include <doctest/doctest.h>

using namespace netc;

namespace {
LrDecayConfig decay(const std::string& kind) {
  LrDecayConfig c;
  c.kind = kind;
  return c;
}
} // namespace

TEST_CASE("inverse_time with rate 1 from 0.2 gives the notes' 0.1, 0.067, 0.05, 0.04") {
  LrSchedule s(decay("inverse_time"), 0.2);
  CHECK(s.rate(1, 1) == doctest::Approx(0.1));
  CHECK(s.rate(2, 1) == doctest::Approx(0.0666667).epsilon(1e-5));
  CHECK(s.rate(3, 1) == doctest::Approx(0.05));
  CHECK(s.rate(4, 1) == doctest::Approx(0.04));
}

TEST_CASE("exponential, epoch_power, step_sqrt and staircase follow their formulas") {
  LrDecayConfig e = decay("exponential");
  e.base = 0.95;
  CHECK(LrSchedule(e, 0.1).rate(3, 1) == doctest::Approx(0.1 * 0.95 * 0.95 * 0.95));
  LrDecayConfig p = decay("epoch_power");
  p.k = 2.0;
  p.p = 0.5;
  CHECK(LrSchedule(p, 0.1).rate(4, 1) == doctest::Approx(0.1 * 2.0 / 2.0));
  LrDecayConfig q = decay("step_sqrt");
  q.k = 1.0;
  CHECK(LrSchedule(q, 0.1).rate(1, 100) == doctest::Approx(0.01));
  LrDecayConfig st = decay("staircase");
  st.factor = 0.5;
  st.every = 2;
  LrSchedule s(st, 0.4);
  CHECK(s.rate(1, 1) == doctest::Approx(0.4));
  CHECK(s.rate(2, 1) == doctest::Approx(0.2));
  CHECK(s.rate(3, 1) == doctest::Approx(0.2));
  CHECK(s.rate(4, 1) == doctest::Approx(0.1));
  CHECK(LrSchedule(decay("none"), 0.3).rate(9, 99) == 0.3);
}

TEST_CASE("reduce-on-plateau halves after `patience` epochs without improvement, down to min_lr") {
  LrDecayConfig c = decay("plateau");
  c.factor = 0.5;
  c.patience = 2;
  c.min_lr = 0.03;
  LrSchedule s(c, 0.1);
  CHECK_FALSE(s.end_epoch(1.0));
  CHECK_FALSE(s.end_epoch(0.9)); // improved
  CHECK_FALSE(s.end_epoch(0.95));
  CHECK(s.end_epoch(0.93)); // two epochs without improvement
  CHECK(s.rate(5, 1) == doctest::Approx(0.05));
  CHECK_FALSE(s.end_epoch(0.91));
  CHECK(s.end_epoch(0.92));
  CHECK(s.rate(7, 1) == doctest::Approx(0.03)); // clamped at min_lr
  CHECK_FALSE(s.end_epoch(0.99));
  CHECK_FALSE(s.end_epoch(0.99)); // already at min_lr: no change to report
}
