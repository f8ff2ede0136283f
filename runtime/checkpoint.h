// Checkpoints in the safetensors format: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
// {string: string}}, then the tensors' raw bytes.
//
// A checkpoint holds every persistent slot of the executor (params, optimizer
// moments, running statistics, the step, the hypers) under the slot's name,
// the normalization statistics ("__norm__.mean", "__norm__.std"), optionally
// the early-stopping best weights ("__best__.NAME"), and in the metadata the
// model fingerprint, the training position and the state that makes a resumed
// run continue bit for bit (see runtime/train/train.h).
//
// Integrity: the metadata's "checksum" is FNV-1a (64 bit) over the whole file
// with the checksum's own 16 hex digits read as zeros, so a flipped bit
// anywhere (header or data) is detected on load.
//
// Atomicity: the file is written to a temporary file in the same folder,
// fsync'ed, renamed over the target, and the folder fsync'ed; on any failure
// the temporary file is removed and an existing checkpoint is untouched.
// Testing hook: NETC_CHECKPOINT_FAIL_AFTER=N makes the writer fail with
// ENOSPC ("No space left on device") once N bytes are written, as a full disk
// would.
#pragma once

#include "runtime/data/normalize.h"
#include "runtime/executor.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace netc::rt {

struct StoredTensor {
  std::string name;
  std::string dtype = "F32"; // F32 | I32 | U8
  std::vector<int64_t> shape;
  std::vector<std::byte> data;
};

struct SafetensorsFile {
  std::vector<StoredTensor> tensors; // in file order
  std::map<std::string, std::string> metadata;
  const StoredTensor* find(const std::string& name) const;
};

// Throws Error naming the file (and the cause) on any failure.
void write_safetensors(const std::string& path, const SafetensorsFile& file);
// Throws Error for a missing, truncated, malformed or corrupted file.
SafetensorsFile read_safetensors(const std::string& path);

// FNV-1a, 64 bit.
uint64_t fnv1a64(std::span<const std::byte> bytes, uint64_t hash = 0xcbf29ce484222325ULL);

// Every persistent slot of `ex` as tensors, and back. restore_persistent()
// checks the fingerprint against the executor's plan and every slot's dtype
// and shape, and changes nothing unless everything fits; `prefix` selects
// "__best__." copies.
void add_persistent(SafetensorsFile& file, Executor& ex, const std::string& prefix = "");
void restore_persistent(const SafetensorsFile& file, Executor& ex, const std::string& source,
                        const std::string& prefix = "");
// Checks "netc.fingerprint" against the plan's, with a message that says so.
void check_fingerprint(const SafetensorsFile& file, const Plan& plan, const std::string& source);

// The normalization statistics stored by `train` ("netc.normalize",
// "__norm__.mean", "__norm__.std").
Normalizer stored_normalizer(const SafetensorsFile& file, const std::vector<int64_t>& example_shape,
                             const std::string& source);

} // namespace netc::rt
