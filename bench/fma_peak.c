// The machine's f32 FMA peak, for bench/compare.py's shares of peak and
// rooflines (the 230 GFLOP/s was measured on another machine).
//
//   cc -O2 -march=native -pthread bench/fma_peak.c -o fma_peak && ./fma_peak THREADS
//
// Each thread runs kChains independent chains of vector FMAs (acc = acc * m +
// a: 16 chains cover 2 FMA ports x 4 cycles of latency twice over) for a
// fixed number of iterations; all threads start together. Prints one JSON
// object: {"threads", "lanes", "seconds", "gflops"}. The vector type is the
// widest the target has (AVX-512: 16 floats; else AVX: 8), so the figure is
// what a kernel using that width can reach.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif

typedef float vec __attribute__((vector_size(LANES * sizeof(float))));

enum { kChains = 16 };                        // the CHAINS below
static const long kIters = 200 * 1000 * 1000; // ~0.5 s a thread

static pthread_barrier_t start;
static float sink[64];

// The chains as 16 named variables (an array was kept on the stack), each
// step a multiply-add that the compiler may not reassociate or fold
// (no -ffast-math): the loop is 16 vector FMAs per iteration.
#define CHAINS(X)                                                                                  \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define DECLARE(c) vec acc##c = m * (float)(c);
#define STEP(c) acc##c = acc##c * m + a;
#define SUM(c) s += acc##c[0];

static void* run(void* arg) {
  long id = (long)arg;
  vec m, a;
  for (int l = 0; l < LANES; ++l) {
    m[l] = 0.9999f; // acc converges to a / (1 - m): no overflow, no subnormals
    a[l] = 1e-3f;
  }
  CHAINS(DECLARE)
  pthread_barrier_wait(&start);
  for (long i = 0; i < kIters; ++i) {
    CHAINS(STEP)
  }
  float s = 0;
  CHAINS(SUM)
  sink[id % 64] = s;
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 64) {
    fprintf(stderr, "fma_peak: THREADS must be 1..64, got '%s'\n", argv[1]);
    return 2;
  }
  pthread_t ts[64];
  pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
  for (long t = 0; t < threads; ++t)
    if (pthread_create(&ts[t], NULL, run, (void*)t) != 0) {
      fprintf(stderr, "fma_peak: cannot start thread %ld\n", t);
      return 1;
    }
  struct timespec t0, t1;
  pthread_barrier_wait(&start);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int t = 0; t < threads; ++t) pthread_join(ts[t], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  double flops = 2.0 * LANES * kChains * (double)kIters * threads;
  printf("{\"threads\": %d, \"lanes\": %d, \"seconds\": %.4f, \"gflops\": %.1f, \"check\": %g}\n",
         threads, LANES, seconds, flops / seconds / 1e9, (double)sink[0]);
  return 0;
}
