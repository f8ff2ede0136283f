// The readers of data files and checkpoints take a path (they stat it, refuse
// FIFOs and devices, and read it whole): a fuzz input reaches them as a
// regular file rewritten for every input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace netc::fuzz {

// Writes the input to one file per process (in /dev/shm when it exists,
// else /tmp) whose name ends in `suffix`, and returns its path.
const std::string& input_file(const uint8_t* data, size_t size, const std::string& suffix);

} // namespace netc::fuzz
