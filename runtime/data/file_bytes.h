// Whole-file reads for the data readers, with transparent gunzip: a file that
// starts with the gzip magic is decompressed, whatever its name.
#pragma once

#include <string>

namespace netc::rt {

// The file's bytes (decompressed if gzipped). Throws Error naming the file
// when it is missing, unreadable, corrupt or truncated.
std::string read_file_bytes(const std::string& path);

// Throws Error("PATH: no such file") unless the file exists and is a regular file.
void require_file(const std::string& path);

} // namespace netc::rt
