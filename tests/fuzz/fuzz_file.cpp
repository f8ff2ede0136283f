#include "fuzz_file.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace netc::fuzz {

const std::string& input_file(const uint8_t* data, size_t size, const std::string& suffix) {
  static const std::string path = [&] {
    std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    return (dir / ("netc-fuzz-" + std::to_string(::getpid()) + suffix)).string();
  }();
  static const bool cleanup = [] {
    std::atexit([] { std::remove(path.c_str()); });
    return true;
  }();
  (void)cleanup;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort(); // the harness, not the reader, failed
  }
  return path;
}

} // namespace netc::fuzz
