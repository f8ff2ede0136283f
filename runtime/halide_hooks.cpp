#include "runtime/halide_hooks.h"

#include "runtime/block_cache.h"
#include "runtime/thread_pool.h"

#include <HalideRuntime.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

// Weak: resolved when the program links a Halide runtime, null otherwise.
#pragma weak halide_set_custom_malloc
#pragma weak halide_set_custom_free
#pragma weak halide_set_error_handler
#pragma weak halide_set_custom_do_par_for

namespace netc::rt {

namespace {

void* cached_malloc(void* /*user_context*/, size_t bytes) {
  return halide_block_cache().allocate(bytes);
}

void cached_free(void* /*user_context*/, void* block) { halide_block_cache().release(block); }

// The handler may run on a worker thread and must not allocate (it can run
// inside a step), so the message goes to a fixed buffer.
std::mutex error_mutex;
char error_message[2048];

void capture_error(void* /*user_context*/, const char* message) {
  std::lock_guard lock(error_mutex);
  std::strncpy(error_message, message ? message : "", sizeof error_message - 1);
  error_message[sizeof error_message - 1] = '\0';
}

int parse_threads(const char* text) {
  if (!text || !*text) return 0;
  char* end = nullptr;
  long n = std::strtol(text, &end, 10);
  return *end == '\0' && n > 0 && n <= 4096 ? static_cast<int>(n) : 0;
}

} // namespace

bool install_halide_hooks() {
  static const bool installed = [] {
    if (!halide_set_custom_malloc || !halide_set_custom_free || !halide_set_error_handler)
      return false;
    halide_set_custom_malloc(cached_malloc);
    halide_set_custom_free(cached_free);
    halide_set_error_handler(capture_error);
    if (halide_set_custom_do_par_for) halide_set_custom_do_par_for(parallel_for);
    if (int n = threads_from_env()) set_halide_threads(n);
    return true;
  }();
  return installed;
}

int threads_from_env() {
  if (int n = parse_threads(std::getenv("NETC_THREADS"))) return n;
  return parse_threads(std::getenv("HL_NUM_THREADS"));
}

bool set_halide_threads(int threads) {
  if (!halide_set_custom_do_par_for || threads <= 0) return false;
  set_pool_threads(threads);
  return true;
}

std::string take_halide_error() {
  std::lock_guard lock(error_mutex);
  std::string message = error_message;
  error_message[0] = '\0';
  return message;
}

} // namespace netc::rt
