#include "runtime/checkpoint.h"

#include "ir/user_input.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>
#include <signal.h>
#include <unistd.h>

namespace netc::rt {

namespace {

constexpr const char* kChecksumKey = "netc.checksum";
constexpr size_t kChecksumDigits = 16;
// Checkpoints are read whole; tensors are bounded as the data readers' are.
constexpr uint64_t kMaxCheckpointBytes = uint64_t{64} << 30;
constexpr uint64_t kMaxElements = uint64_t{1} << 40;

size_t dtype_size(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "U8") return 1;
  return 0;
}

// The checksum's hex digits in the header text, or npos.
size_t checksum_position(std::string_view header) {
  std::string key = fmt::format("\"{}\":\"", kChecksumKey);
  size_t at = header.find(key);
  return at == std::string_view::npos ? at : at + key.size();
}

uint64_t file_checksum(std::string_view header, std::span<const std::byte> rest, size_t digits_at) {
  std::string zeroed(header);
  std::fill_n(zeroed.begin() + static_cast<std::ptrdiff_t>(digits_at), kChecksumDigits, '0');
  uint64_t h = fnv1a64(std::as_bytes(std::span<const char>(zeroed.data(), zeroed.size())));
  return fnv1a64(rest, h);
}

std::string persistent_names(Executor& ex) {
  std::string names;
  for (int slot : ex.persistent_slots()) {
    if (names.size() > 200) return names + ", ...";
    names += (names.empty() ? "" : ", ") + ex.slot_info(slot).name;
  }
  return names;
}

// A file descriptor that closes itself, and a temporary file that removes
// itself unless committed.
class TempFile {
public:
  explicit TempFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  int fd() const { return fd_; }
  int close() {
    int r = ::close(fd_);
    fd_ = -1;
    return r;
  }
  void commit() { committed_ = true; }

private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Removes the ".NAME.tmp.PID" files that writers of the same checkpoint left
// when they were killed mid-write (their process is gone), so that repeated
// kill -9 and --resume do not fill the folder. A live writer's file is kept.
void remove_stale_temp_files(const std::filesystem::path& dir, const std::string& name) {
  const std::string prefix = "." + name + ".tmp.";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string file = entry.path().filename().string();
    if (!file.starts_with(prefix)) continue;
    std::string digits = file.substr(prefix.size());
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    long pid = std::strtol(digits.c_str(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::filesystem::remove(entry.path(), ec);
  }
}

// The testing hook of the header: a byte budget after which writes fail.
int64_t write_budget() {
  const char* v = std::getenv("NETC_CHECKPOINT_FAIL_AFTER");
  if (!v || !*v) return -1;
  return std::max<int64_t>(0, std::strtoll(v, nullptr, 10));
}

void write_all(int fd, const std::byte* data, size_t size, int64_t& budget) {
  while (size > 0) {
    size_t chunk = std::min<size_t>(size, size_t{1} << 24);
    if (budget >= 0) {
      if (budget == 0) {
        errno = ENOSPC;
        throw errno;
      }
      chunk = std::min(chunk, static_cast<size_t>(budget));
    }
    ssize_t n = ::write(fd, data, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw errno;
    }
    if (budget >= 0) budget -= n;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// Every tensor of a checkpoint must be one netc writes for this model: a
// persistent slot, its early-stopping copy, or the normalization statistics.
// An unknown tensor is a file of another writer (or a renamed parameter),
// not something to ignore silently.
void check_known_tensors(const SafetensorsFile& file, Executor& ex, const std::string& source) {
  std::set<std::string> known = {"__norm__.mean", "__norm__.std"};
  for (int slot : ex.persistent_slots()) {
    known.insert(ex.slot_info(slot).name);
    known.insert("__best__." + ex.slot_info(slot).name);
  }
  for (const StoredTensor& t : file.tensors)
    if (!known.count(t.name))
      throw Error(fmt::format("checkpoint {} holds a tensor {} that model '{}' does not have (its "
                              "parameters and state are: {})",
                              source, t.name, ex.plan().model, persistent_names(ex)));
}

} // namespace

uint64_t fnv1a64(std::span<const std::byte> bytes, uint64_t hash) {
  for (std::byte b : bytes) {
    hash ^= static_cast<uint64_t>(b);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

const StoredTensor* SafetensorsFile::find(const std::string& name) const {
  for (const StoredTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [k, v] : file.metadata)
    if (k != kChecksumKey) meta[k] = v;
  meta[kChecksumKey] = std::string(kChecksumDigits, '0');
  header["__metadata__"] = meta;
  size_t offset = 0;
  for (const StoredTensor& t : file.tensors) {
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' '); // the format's 8-byte alignment of the data
  size_t digits_at = checksum_position(text);
  // The checksum covers the header (its own digits as zeros) and every tensor in order.
  std::string zeroed = text;
  uint64_t h = fnv1a64(std::as_bytes(std::span<const char>(zeroed.data(), zeroed.size())));
  for (const StoredTensor& t : file.tensors) h = fnv1a64(t.data, h);
  std::string digits = fmt::format("{:016x}", h);
  std::copy(digits.begin(), digits.end(), text.begin() + static_cast<std::ptrdiff_t>(digits_at));

  std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
  std::string tmp =
      (dir / fmt::format(".{}.tmp.{}", target.filename().string(), ::getpid())).string();
  auto fail = [&](int err) {
    return Error(fmt::format("cannot save the checkpoint {}: {} (the previous checkpoint, "
                             "if any, is unchanged)",
                             path, std::strerror(err)));
  };
  remove_stale_temp_files(dir, target.filename().string());
  TempFile out(tmp);
  if (out.fd() < 0) throw fail(errno);
  int64_t budget = write_budget();
  try {
    uint64_t n = text.size();
    std::byte length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
    write_all(out.fd(), length, 8, budget);
    write_all(out.fd(), reinterpret_cast<const std::byte*>(text.data()), text.size(), budget);
    for (const StoredTensor& t : file.tensors)
      write_all(out.fd(), t.data.data(), t.data.size(), budget);
  } catch (int err) {
    throw fail(err);
  }
  if (::fsync(out.fd()) != 0) throw fail(errno);
  if (out.close() != 0) throw fail(errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail(errno);
  out.commit();
  // The rename itself is durable only once the folder is.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

SafetensorsFile read_safetensors(const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Error(fmt::format("checkpoint {}: {}", path, why));
  };
  // A FIFO or device is refused rather than waited on (ir/user_input.h).
  FileRead read = read_regular_file(path, kMaxCheckpointBytes);
  if (!read.bytes) throw bad(read.why);
  auto bytes = std::as_bytes(std::span<const char>(read.bytes->data(), read.bytes->size()));
  size_t size = bytes.size();
  if (size < 8) throw bad(fmt::format("truncated: {} bytes, not even a header length", size));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(bytes[static_cast<size_t>(i)]) << (8 * i);
  if (n > size - 8)
    throw bad(fmt::format("truncated: the header says {} bytes, the file has {} after the length",
                          n, size - 8));
  std::string_view header(read.bytes->data() + 8, n);
  std::span<const std::byte> rest = bytes.subspan(8 + n);
  size_t digits_at = checksum_position(header);
  if (digits_at == std::string_view::npos || digits_at + kChecksumDigits > header.size())
    throw bad("corrupted or not a netc checkpoint: no checksum in its header");
  std::string stored(header.substr(digits_at, kChecksumDigits));
  std::string actual = fmt::format("{:016x}", file_checksum(header, rest, digits_at));
  if (stored != actual)
    throw bad(fmt::format("corrupted: the checksum is {}, the contents give {} (a flipped bit or "
                          "a truncated file)",
                          stored, actual));
  // From here on the bytes are the ones a writer wrote, but not necessarily
  // netc's writer: every field is still checked (docs/testing.md).
  nlohmann::json j = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw bad("malformed header: not valid JSON");
  if (!j.is_object()) throw bad("malformed header: not a JSON object");
  SafetensorsFile file;
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, StoredTensor>> found;
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) throw bad("malformed header: __metadata__ is not an object");
      for (const auto& [k, value] : v.items()) {
        if (!value.is_string())
          throw bad(fmt::format("malformed header: the metadata {} is not a string", k));
        file.metadata[k] = value.get<std::string>();
      }
      continue;
    }
    auto tensor_bad = [&](const std::string& why) {
      return bad(fmt::format("tensor {}: {}", name, why));
    };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets"))
      throw tensor_bad("expected an object with dtype, shape and data_offsets");
    StoredTensor t;
    t.name = name;
    if (!v["dtype"].is_string()) throw tensor_bad("dtype is not a string");
    t.dtype = v["dtype"].get<std::string>();
    size_t es = dtype_size(t.dtype);
    if (es == 0) throw tensor_bad(fmt::format("unsupported dtype {}", t.dtype));
    uint64_t count = 1;
    if (!v["shape"].is_array()) throw tensor_bad("shape is not an array");
    for (const auto& d : v["shape"]) {
      // is_number_unsigned: a non-negative integer, neither 2.5 nor -1.
      if (!d.is_number_unsigned() || d.get<uint64_t>() > kMaxElements)
        throw tensor_bad(fmt::format("the shape {} is not a list of dimensions from 0 to 2^40",
                                     v["shape"].dump()));
      auto dim = d.get<uint64_t>();
      // Checked before the product, which would otherwise overflow.
      if (dim > 0 && count > kMaxElements / dim)
        throw tensor_bad(
            fmt::format("the shape {} has more than 2^40 elements", v["shape"].dump()));
      count *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned())
      throw tensor_bad(
          fmt::format("data_offsets {} is not a pair of byte offsets [BEGIN, END]", off.dump()));
    auto begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > rest.size() || end - begin != count * es)
      throw tensor_bad(fmt::format("data_offsets [{}, {}] do not fit its shape {} of {} ({} "
                                   "bytes) or the {} bytes of data in the file",
                                   begin, end, v["shape"].dump(), t.dtype, count * es,
                                   rest.size()));
    auto from = rest.begin() + static_cast<std::ptrdiff_t>(begin);
    t.data.assign(from, from + static_cast<std::ptrdiff_t>(end - begin));
    found.emplace_back(std::pair(begin, end), std::move(t));
  }
  // The data section is the tensors back to back, as the safetensors format
  // requires: an overlap (two tensors sharing bytes), a hole or trailing
  // bytes mean a file that was not written as it says.
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  uint64_t at = 0;
  for (const auto& [range, t] : found) {
    if (range.first != at)
      throw bad(fmt::format("tensor {}: data_offsets [{}, {}] {} the previous tensor's end at {}",
                            t.name, range.first, range.second,
                            range.first < at ? "overlap" : "leave a hole after", at));
    at = range.second;
  }
  if (at != rest.size())
    throw bad(fmt::format("{} bytes after the last tensor's data", rest.size() - at));
  for (auto& f : found) file.tensors.push_back(std::move(f.second));
  return file;
}

void check_fingerprint(const SafetensorsFile& file, const Plan& plan, const std::string& source) {
  auto it = file.metadata.find("netc.fingerprint");
  if (it == file.metadata.end())
    throw Error(fmt::format("checkpoint {}: no model fingerprint; not a netc checkpoint", source));
  if (it->second != plan.fingerprint) {
    auto model = file.metadata.find("netc.model");
    throw Error(fmt::format(
        "checkpoint {} belongs to another model: its fingerprint is {} (model '{}'), this is {} "
        "(model '{}')",
        source, it->second, model == file.metadata.end() ? "?" : model->second, plan.fingerprint,
        plan.model));
  }
}

void add_persistent(SafetensorsFile& file, Executor& ex, const std::string& prefix) {
  for (int slot : ex.persistent_slots()) {
    const TensorSlot& s = ex.slot_info(slot);
    std::span<std::byte> b = ex.bytes(slot);
    file.tensors.push_back({prefix + s.name, s.type == ElemType::f32 ? "F32" : "I32", s.shape,
                            std::vector<std::byte>(b.begin(), b.end())});
  }
}

void restore_persistent(const SafetensorsFile& file, Executor& ex, const std::string& source,
                        const std::string& prefix) {
  check_fingerprint(file, ex.plan(), source);
  if (prefix.empty()) check_known_tensors(file, ex, source);
  std::vector<const StoredTensor*> found;
  for (int slot : ex.persistent_slots()) {
    const TensorSlot& s = ex.slot_info(slot);
    const StoredTensor* t = file.find(prefix + s.name);
    if (!t) throw Error(fmt::format("checkpoint {} lacks tensor {}", source, prefix + s.name));
    std::string dtype = s.type == ElemType::f32 ? "F32" : "I32";
    if (t->dtype != dtype || t->shape != s.shape)
      throw Error(fmt::format("checkpoint {}: tensor {} is {} {}, the model's is {} {}", source,
                              t->name, t->dtype, nlohmann::json(t->shape).dump(), dtype,
                              nlohmann::json(s.shape).dump()));
    found.push_back(t);
  }
  // Only now, with every tensor checked, is anything overwritten.
  for (size_t i = 0; i < found.size(); ++i) {
    std::span<std::byte> b = ex.bytes(ex.persistent_slots()[i]);
    std::copy(found[i]->data.begin(), found[i]->data.end(), b.begin());
  }
}

Normalizer stored_normalizer(const SafetensorsFile& file, const std::vector<int64_t>& example_shape,
                             const std::string& source) {
  auto mode = file.metadata.find("netc.normalize");
  if (mode == file.metadata.end())
    throw Error(fmt::format("checkpoint {} lacks the normalization statistics", source));
  auto floats = [&](const char* name) {
    const StoredTensor* t = file.find(name);
    if (!t || t->dtype != "F32")
      throw Error(fmt::format("checkpoint {} lacks the tensor {}", source, name));
    std::vector<float> v(t->data.size() / 4);
    if (!v.empty()) std::memcpy(v.data(), t->data.data(), t->data.size()); // none: no statistics
    return v;
  };
  return Normalizer::from_statistics(parse_norm_mode(mode->second), example_shape,
                                     floats("__norm__.mean"), floats("__norm__.std"));
}

} // namespace netc::rt
