#include "runtime/exe_commands.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <utility>
#include <vector>

namespace netc::rt {

int64_t default_batch(const Plan& plan) {
  return std::clamp<int64_t>(plan.config.batch, 1, plan.max_batch);
}

double kernel_flops(const KernelCall& k, int64_t batch) {
  return static_cast<double>(k.flops_fixed) +
         static_cast<double>(k.flops_per_example) * static_cast<double>(batch);
}

double kernel_bytes(const Plan& plan, const KernelCall& k, int64_t batch) {
  std::vector<int> slots = k.args;
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  double sum = 0;
  for (int s : slots) sum += static_cast<double>(plan.slots[size_t(s)].bytes(batch));
  return sum;
}

double program_flops(const Program& p, int64_t batch) {
  double sum = 0;
  for (size_t k = static_cast<size_t>(p.prepare); k < p.kernels.size(); ++k)
    sum += kernel_flops(p.kernels[k], batch);
  return sum;
}

std::string group_digits(int64_t n) {
  uint64_t magnitude = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string digits = std::to_string(magnitude);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  if (n < 0) out.insert(out.begin(), '-');
  return out;
}

std::string si(double value, std::string_view unit) {
  static const char* const prefixes[] = {"", "k", "M", "G", "T", "P"};
  size_t p = 0;
  double v = std::abs(value);
  while (v >= 999.5 && p + 1 < std::size(prefixes)) {
    v /= 1000;
    ++p;
  }
  if (value < 0) v = -v;
  if (p == 0) return unit.empty() ? fmt::format("{:.0f}", v) : fmt::format("{:.0f} {}", v, unit);
  return fmt::format("{:.3g} {}{}", v, prefixes[p], unit);
}

std::string human_bytes(int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024;
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string human_seconds(double seconds) {
  if (seconds >= 1) return fmt::format("{:.3g} s", seconds);
  if (seconds >= 1e-3) return fmt::format("{:.3g} ms", seconds * 1e3);
  return fmt::format("{:.3g} us", seconds * 1e6);
}

std::string summarize_ops(const std::string& ops, size_t width) {
  if (ops.size() <= width) return ops;
  std::vector<std::pair<std::string, int>> counts; // in order of first use
  for (size_t start = 0; start < ops.size();) {
    size_t end = std::min(ops.find(' ', start), ops.size());
    std::string op = ops.substr(start, end - start);
    auto it =
        std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == op; });
    if (it == counts.end())
      counts.emplace_back(op, 1);
    else
      ++it->second;
    start = end + 1;
  }
  std::string out;
  for (const auto& [op, n] : counts) {
    std::string item = n > 1 ? fmt::format("{} x{}", op, n) : op;
    if (out.size() + item.size() + 5 > width) {
      out += " ...";
      break;
    }
    if (!out.empty()) out += ' ';
    out += item;
  }
  return out;
}

} // namespace netc::rt
