#include "runtime/mpi/openmpi/mpi_collective.h"

#include "runtime/error.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace netc::rt {

namespace {

constexpr int kTag = 7001;

int mod(int a, int n) { return ((a % n) + n) % n; }

// FNV-1a over the bytes.
uint64_t fnv(std::span<const std::byte> bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (std::byte b : bytes) {
    h ^= static_cast<uint64_t>(b);
    h *= 1099511628211ULL;
  }
  return h;
}

} // namespace

MpiCollective::MpiCollective(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

void MpiCollective::check(int code, const char* call) const {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(fmt::format("rank {} of {}: {} failed: {} (a rank has died or lost contact)", rank_,
                          size_, call, std::string(text, static_cast<size_t>(length))));
}

std::span<float> MpiCollective::chunk(std::span<float> data, int c) const {
  size_t n = data.size(), parts = static_cast<size_t>(size_), i = static_cast<size_t>(c);
  size_t first = i * n / parts, last = (i + 1) * n / parts;
  return data.subspan(first, last - first);
}

// Reduce-scatter step s (0..n-2): send chunk r-s to the right, receive chunk
// r-s-1 from the left and add our value on its right. All-gather step s
// (n-1..2n-3, t = s-n+1): send the complete chunk r+1-t, receive chunk r-t.
void MpiCollective::post(Ring& ring) {
  int n = size_, r = rank_, s = ring.step;
  int right = mod(r + 1, n), left = mod(r - 1, n);
  bool scatter = s < n - 1;
  int t = scatter ? s : s - (n - 1);
  std::span<float> out = chunk(ring.data, scatter ? mod(r - s, n) : mod(r + 1 - t, n));
  std::span<float> in = chunk(ring.data, scatter ? mod(r - s - 1, n) : mod(r - t, n));
  float* target = in.data();
  if (scatter) {
    scratch_.resize(std::max(scratch_.size(), in.size()));
    target = scratch_.data();
  }
  check(MPI_Irecv(target, static_cast<int>(in.size()), MPI_FLOAT, left, kTag, comm_,
                  &ring.requests[0]),
        "MPI_Irecv");
  check(MPI_Isend(out.data(), static_cast<int>(out.size()), MPI_FLOAT, right, kTag, comm_,
                  &ring.requests[1]),
        "MPI_Isend");
}

void MpiCollective::complete(Ring& ring) {
  int n = size_, s = ring.step;
  if (s < n - 1) {
    std::span<float> in = chunk(ring.data, mod(rank_ - s - 1, n));
    for (size_t i = 0; i < in.size(); ++i) in[i] = scratch_[i] + in[i];
  }
}

bool MpiCollective::advance(Ring& ring, bool block) {
  int last = 2 * (size_ - 1);
  while (true) {
    if (ring.step < 0) {
      ring.step = 0;
      post(ring);
    }
    int done = 0;
    if (block) {
      check(MPI_Waitall(2, ring.requests, MPI_STATUSES_IGNORE), "MPI_Waitall");
      done = 1;
    } else {
      check(MPI_Testall(2, ring.requests, &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    }
    if (!done) return false;
    complete(ring);
    if (++ring.step == last) return true;
    post(ring);
  }
}

void MpiCollective::start(std::span<float> data) {
  if (size_ == 1 || data.empty()) return;
  queue_.push_back({data});
}

void MpiCollective::progress() {
  // Only the front ring has messages in flight: one scratch buffer, and the
  // sums finish in the order they started.
  while (!queue_.empty() && advance(queue_.front(), false)) queue_.pop_front();
}

void MpiCollective::finish() {
  while (!queue_.empty()) {
    advance(queue_.front(), true);
    queue_.pop_front();
  }
}

void MpiCollective::sum(std::span<float> data) {
  finish();
  start(data);
  finish();
}

void MpiCollective::sum(std::span<double> data) {
  // Few values (losses, counts): every rank gathers all of them and adds them
  // in rank order, the same association everywhere.
  if (size_ == 1 || data.empty()) return;
  finish();
  std::vector<double> all(data.size() * static_cast<size_t>(size_));
  check(MPI_Allgather(data.data(), static_cast<int>(data.size()), MPI_DOUBLE, all.data(),
                      static_cast<int>(data.size()), MPI_DOUBLE, comm_),
        "MPI_Allgather");
  for (size_t i = 0; i < data.size(); ++i) {
    double s = all[i];
    for (size_t r = 1; r < static_cast<size_t>(size_); ++r) s += all[r * data.size() + i];
    data[i] = s;
  }
}

bool MpiCollective::same_everywhere(std::span<const std::byte> bytes) {
  if (size_ == 1) return true;
  uint64_t h = fnv(bytes), lo = 0, hi = 0;
  check(MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, comm_), "MPI_Allreduce");
  check(MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, comm_), "MPI_Allreduce");
  return lo == hi;
}

} // namespace netc::rt
