#!/usr/bin/env python3
"""STREAM-style triad bandwidth, for bench/compare.py's roofline.

  /usr/bin/python3 bench/triad.py [--threads 2] [--mb 0.25,1,4,16,64,256]

a = b + 3c over float32 arrays of each size (per array), one process per
thread at once (numpy is single-threaded), the best of 20 repetitions in each
process, summed over the processes. Prints one JSON object: {working-set
bytes (the three arrays of every process): GB/s}. Bytes counted: 5 array
passes (a = 3c reads c and writes a; a += b reads a and b and writes a).
"""
import argparse, json, multiprocessing, time

import numpy as np


def worker(n, reps, barrier, out):
    a, b, c = np.zeros(n, np.float32), np.ones(n, np.float32), np.full(n, 2, np.float32)
    np.add(b, c, out=a)
    barrier.wait()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        np.multiply(c, 3.0, out=a)
        np.add(a, b, out=a)
        best = min(best, time.perf_counter() - t)
    out.put(5 * n * 4 / best)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mb", default="0.25,1,4,16,64,256")
    a = ap.parse_args()
    res = {}
    for mb in (float(x) for x in a.mb.split(",")):
        n = int(mb * 2**20 / 4)
        barrier, out = multiprocessing.Barrier(a.threads), multiprocessing.Queue()
        ps = [multiprocessing.Process(target=worker, args=(n, 20, barrier, out))
              for _ in range(a.threads)]
        for p in ps:
            p.start()
        rates = [out.get(timeout=120) for _ in ps]
        for p in ps:
            p.join()
        res[3 * n * 4 * a.threads] = sum(rates) / 1e9
    print(json.dumps(res))


if __name__ == "__main__":
    main()
