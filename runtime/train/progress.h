// A one-line progress bar for an epoch on a terminal: redrawn in place with
// '\r' at most every 0.1 s, showing the batch, the ETA, the running loss and
// images per second. Formats into a fixed buffer: the training step loop calls
// update() and must not allocate. Disabled, every call does nothing.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <iosfwd>

namespace netc::rt {

class Progress {
public:
  Progress(std::ostream& out, bool enabled) : out_(out), enabled_(enabled) {}
  void start_epoch(int64_t epoch, int64_t epochs, int64_t batches);
  void update(int64_t done, double loss, int64_t images, double seconds);
  void end_epoch(); // clears the line
  void abort() { end_epoch(); }

private:
  std::ostream& out_;
  bool enabled_;
  int64_t epoch_ = 0, epochs_ = 0, batches_ = 0;
  double last_draw_ = -1;
  bool drawn_ = false;
  std::array<char, 160> line_{};
};

} // namespace netc::rt
