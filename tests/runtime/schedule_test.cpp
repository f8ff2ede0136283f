// The learning-rate schedules against the notes' table and their formulas.
#include "runtime/schedule.h"

#include <doctest/doctest.h>

#include <cmath>

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

TEST_CASE("cosine warms up linearly, then follows PyTorch's CosineAnnealingLR down to min_lr") {
  LrDecayConfig c = decay("cosine");
  c.warmup = 1;
  c.min_lr = 0.001;
  LrSchedule s(c, 0.1, 10, 5); // 50 steps, the first 10 warming up
  CHECK(s.rate(1, 1) == doctest::Approx(0.01));
  CHECK(s.rate(1, 5) == doctest::Approx(0.05));
  CHECK(s.rate(1, 10) == doctest::Approx(0.1));
  // After the warmup, step t is CosineAnnealingLR's step t - 11 of T_max = 40.
  auto torch = [](int k) { return 0.001 + 0.099 * 0.5 * (1 + std::cos(M_PI * k / 40.0)); };
  CHECK(s.rate(2, 11) == doctest::Approx(0.1));
  CHECK(s.rate(3, 21) == doctest::Approx(torch(10)));
  CHECK(s.rate(3, 31) == doctest::Approx(torch(20)));
  CHECK(s.rate(3, 31) == doctest::Approx(0.0505));
  CHECK(s.rate(5, 50) == doctest::Approx(torch(39)));
  CHECK(s.rate(5, 50) > 0.001);
  // Without warmup the first step takes alpha0; the schedule never rises.
  LrDecayConfig plain = decay("cosine");
  LrSchedule p(plain, 0.2, 7, 3);
  CHECK(p.rate(1, 1) == doctest::Approx(0.2));
  for (int t = 2; t <= 21; ++t) CHECK(p.rate(1, t) < p.rate(1, t - 1));
  CHECK(p.rate(3, 21) == doctest::Approx(0.2 * 0.5 * (1 + std::cos(M_PI * 20 / 21.0))));
  // A warmup as long as the run still leaves its last step to the cosine.
  LrDecayConfig all = decay("cosine");
  all.warmup = 9;
  LrSchedule a(all, 0.1, 4, 2);
  CHECK(a.rate(2, 7) == doctest::Approx(0.1 * 7 / 7));
  CHECK(a.rate(2, 8) == doctest::Approx(0.1));
}
