#include "runtime/train/progress.h"

#include <algorithm>
#include <fmt/format.h>
#include <ostream>

namespace netc::rt {

void Progress::start_epoch(int64_t epoch, int64_t epochs, int64_t batches) {
  epoch_ = epoch;
  epochs_ = epochs;
  batches_ = std::max<int64_t>(batches, 1);
  last_draw_ = -1;
}

void Progress::update(int64_t done, double loss, int64_t images, double seconds) {
  if (!enabled_ || (seconds - last_draw_ < 0.1 && done < batches_)) return;
  last_draw_ = seconds;
  constexpr int kWidth = 24;
  int filled = static_cast<int>(kWidth * done / batches_);
  std::array<char, kWidth + 1> bar{};
  for (int i = 0; i < kWidth; ++i)
    bar[static_cast<size_t>(i)] = i < filled ? '=' : (i == filled ? '>' : ' ');
  double eta =
      done > 0 ? seconds * static_cast<double>(batches_ - done) / static_cast<double>(done) : 0;
  auto r =
      fmt::format_to_n(line_.data(), line_.size() - 1,
                       "\repoch {}/{} [{}] {}/{}  ETA {:.0f} s  loss {:.4f}  {:.0f} images/s\x1b[K",
                       epoch_, epochs_, bar.data(), done, batches_, eta, loss,
                       seconds > 0 ? static_cast<double>(images) / seconds : 0.0);
  out_.write(line_.data(), static_cast<std::streamsize>(std::min(r.size, line_.size() - 1)));
  out_.flush();
  drawn_ = true;
}

void Progress::end_epoch() {
  if (!drawn_) return;
  out_ << "\r\x1b[K";
  drawn_ = false;
}

} // namespace netc::rt
