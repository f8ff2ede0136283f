#!/usr/bin/env python3
"""A/B benchmark of compiled model binaries: alternated rounds of `OUT bench --json`.

    python3 bench/ab.py /tmp/base /tmp/new [--rounds 7] [--batch 128] [--iters 20]
                        [--kernels k12,k40]

Each round runs every binary once, in order (so the machine's load swings
hit both), and records the load average before it. Prints per binary the
training step's median over the rounds and each round's figure, the ratio
base / other per round (median and range), and for the kernels asked for
(or the 12 slowest of the first binary) their median time per binary.
Kernel names (k12) are matched between binaries, so compare binaries of one
model whose fusion plans agree (`netc dump MODEL --after fusion`).
"""
import argparse
import json
import statistics
import subprocess


def bench(binary, batch, iters):
    out = subprocess.run([binary, "bench", "--batch", str(batch), "--iters", str(iters), "--json"],
                         check=True, capture_output=True, text=True).stdout
    j = json.loads(out.strip().splitlines()[-1])
    return j["step_ms"], {k["name"]: k["median_us"] / 1000 for k in j["train_kernels"]}


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--kernels", default="")
    a = ap.parse_args()
    steps = {b: [] for b in a.binaries}
    kernels = {b: {} for b in a.binaries}
    loads = []
    for r in range(a.rounds):
        loads.append(loadavg())
        for b in a.binaries:
            step, ks = bench(b, a.batch, a.iters)
            steps[b].append(step)
            for name, ms in ks.items():
                kernels[b].setdefault(name, []).append(ms)
        print(f"round {r + 1}: load {loads[-1]:.2f}, " +
              ", ".join(f"{b} {steps[b][-1]:.1f} ms" for b in a.binaries), flush=True)
    base = a.binaries[0]
    print(f"\nload average {min(loads):.2f}-{max(loads):.2f} over {a.rounds} rounds")
    for b in a.binaries:
        line = f"{b}: step median {statistics.median(steps[b]):.1f} ms; rounds " + \
            " ".join(f"{s:.1f}" for s in steps[b])
        if b != base:
            ratios = [x / y for x, y in zip(steps[base], steps[b])]
            line += (f"; {base} / {b} per round: median {statistics.median(ratios):.2f}x "
                     f"({min(ratios):.2f}-{max(ratios):.2f})")
        print(line)
    names = [k for k in a.kernels.split(",") if k]
    if not names:
        med = {k: statistics.median(v) for k, v in kernels[base].items()}
        names = sorted(med, key=med.get, reverse=True)[:12]
    print("\n| kernel | " + " | ".join(a.binaries) + " |")
    print("|---|" + "---|" * len(a.binaries))
    for k in names:
        cells = [f"{statistics.median(kernels[b][k]):.2f} ms" if k in kernels[b] else "-"
                 for b in a.binaries]
        print(f"| {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
