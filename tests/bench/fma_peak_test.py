#!/usr/bin/env python3
"""bench/compare.py's FMA peak (bench/fma_peak.c) on 1 and 2 threads: a
positive rate no faster than the hardware could go (a loop the compiler
folded away would report an impossible rate), and the JSON the script reads.

  fma_peak_test.py SOURCE_DIR
"""
import json, os, subprocess, sys, tempfile

root = sys.argv[1]
sys.path.insert(0, os.path.join(root, "bench"))
import compare  # noqa: E402

# Upper bound per thread: 2 FMA ports x 16 lanes x 2 flops x 6 GHz.
BOUND = 2 * 16 * 2 * 6.0
failed = False
for threads in (1, 2):
    g = compare.fma_peak(threads, rounds=1)
    ok = g is not None and 1.0 < g < threads * BOUND
    print(f"{threads} thread(s): {g} GFLOP/s ({'ok' if ok else 'FAILED'})")
    failed = failed or not ok

# The program's own contract: one JSON line with the fields compare.py reads,
# and a clear error for a bad thread count.
with tempfile.TemporaryDirectory() as d:
    exe = compare.build_fma_peak(d)
    if exe is None:
        sys.exit("bench/fma_peak.c does not build")
    out = json.loads(subprocess.run([exe, "1"], capture_output=True, text=True,
                                    check=True).stdout)
    if not (out["threads"] == 1 and out["lanes"] in (4, 8, 16) and out["seconds"] > 0):
        print("unexpected output:", out)
        failed = True
    bad = subprocess.run([exe, "0"], capture_output=True, text=True)
    if bad.returncode == 0 or "THREADS" not in bad.stderr:
        print("THREADS=0 accepted:", bad.returncode, bad.stderr)
        failed = True
sys.exit(1 if failed else 0)
