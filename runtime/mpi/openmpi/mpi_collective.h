// The Collective of runtime/mpi/collective.h over MPI: sums are a ring
// (reduce-scatter, then all-gather) written on MPI's point-to-point calls,
// not MPI_Allreduce, so that the association of every sum is ours and fixed.
// With n ranks the values split into n chunks; chunk c starts at rank c and
// travels right, each rank adding its own value on the right of the running
// sum: chunk c = (...((x_c + x_{c+1}) + x_{c+2}) ...) + x_{c-1}. The rank
// that completes a chunk sends the same bits to every other rank, so every
// rank ends with the same sums, and two runs with the same n with the same
// bits. Traffic per rank: 2 (n-1)/n of the values, the bandwidth-optimal ring.
//
// Overlapped sums are a queue of rings advanced by progress() with MPI_Test
// (no thread: Open MPI makes progress inside MPI calls, and the kernels'
// threads keep the cores). MPI errors return to us (MPI_ERRORS_RETURN) and
// become an Error naming the call; exe_main_mpi aborts the job on any error,
// and mpirun ends the job when a rank dies.
#pragma once

#include "runtime/mpi/collective.h"

#include <mpi.h>

#include <deque>
#include <vector>

namespace netc::rt {

class MpiCollective final : public Collective {
public:
  explicit MpiCollective(MPI_Comm comm);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(std::span<float> data) override;
  void sum(std::span<double> data) override;
  void start(std::span<float> data) override;
  void progress() override;
  void finish() override;
  bool same_everywhere(std::span<const std::byte> bytes) override;

private:
  // One ring sum in flight: its step and the messages of that step.
  struct Ring {
    std::span<float> data;
    int step = -1; // 0 .. 2(n-1)-1; -1 before the first
    MPI_Request requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  };
  std::span<float> chunk(std::span<float> data, int c) const;
  // Posts the messages of ring.step; applies the received chunk when done.
  void post(Ring& ring);
  void complete(Ring& ring);
  // Advances the front ring; true when it finished.
  bool advance(Ring& ring, bool block);
  void check(int code, const char* call) const;

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::deque<Ring> queue_;
  std::vector<float> scratch_; // the chunk received in a reduce-scatter step
};

} // namespace netc::rt
