// What data-parallel training needs from the ranks of a job, without MPI:
// the runtime library calls this interface, and only runtime/mpi/openmpi
// (linked into binaries compiled with `netc compile --mpi`) implements it
// over MPI. A binary without it trains alone (no Collective at all).
//
// Every sum has a fixed association (runtime/mpi/openmpi/ring.h): the same
// ranks and the same inputs give the same bits, on every rank.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace netc::rt {

class Collective {
public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Blocking sums in place, every rank the same result.
  virtual void sum(std::span<float> data) = 0;
  virtual void sum(std::span<double> data) = 0;

  // Overlapped sums: start() queues a sum of `data` in place (the memory must
  // stay untouched until finish()); progress() advances the queued sums as
  // far as the messages that arrived allow, without blocking; finish() waits
  // for all of them. The queue runs in the order of start().
  virtual void start(std::span<float> data) = 0;
  virtual void progress() = 0;
  virtual void finish() = 0;

  // Whether `bytes` are the same on every rank (a hash compared).
  virtual bool same_everywhere(std::span<const std::byte> bytes) = 0;
};

} // namespace netc::rt
