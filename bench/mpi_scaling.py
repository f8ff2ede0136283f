#!/usr/bin/python3
"""Data-parallel scaling of the mlp and the cnn (issue 14, docs/mpi.md).

Measures, on this machine, `mpirun -np 1` against `-np 2` with one thread per
rank (`OUT bench --mpi --threads 1 --json`, the global batch of the model
split between the ranks), then models the step time beyond this machine:

    step(N) = compute(1) / min(N, B) + 2 (N - 1) / N * bytes / bandwidth + 2 (N - 1) * latency

compute(1) is the measured 1-rank step (the global batch on one rank;
N ranks each compute 1/N of it), bytes the gradients summed per step (f32),
the ring all-reduce's 2(N-1) messages each pay `latency`. Without overlap,
as written; with perfect overlap the reduction would hide behind the
backward pass, so the table's step is an upper bound. A global batch of B
examples cannot feed more than B ranks: beyond that a rank idles, and the
table says so.

Usage: bench/mpi_scaling.py build/bin/netc [--iters N] [--markdown]
"""
import json
import os
import subprocess
import sys
import tempfile

LINKS = {"25 GB/s": 25e9, "100 GB/s": 100e9}
LATENCY = 5e-6  # seconds per message: a fast cluster interconnect
RANKS = [8, 64, 512]
MODELS = {"mlp": "examples/fmnist_mlp.nn", "cnn": "examples/fmnist_cnn.nn"}


def mpirun(n):
    cmd = ["mpirun", "-np", str(n), "--oversubscribe",
           "--mca", "btl_vader_single_copy_mechanism", "none"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd


def bench(exe, n, iters):
    out = subprocess.run(mpirun(n) + [exe, "bench", "--mpi", "--threads", "1", "--json",
                                      "--iters", str(iters)],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, NETC_THREADS="1")).stdout
    print(out, end="", file=sys.stderr)
    return json.loads(out.strip().splitlines()[-1])


def model_step(compute1, nbytes, n, bandwidth, batch):
    # A rank computes at least one example: past `batch` ranks the rest idle.
    return compute1 / min(n, batch) + 2 * (n - 1) / n * nbytes / bandwidth + 2 * (n - 1) * LATENCY


def main():
    netc = sys.argv[1]
    iters = int(sys.argv[sys.argv.index("--iters") + 1]) if "--iters" in sys.argv else 20
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        measured = {}
        for name, path in MODELS.items():
            exe = os.path.join(tmp, name)
            subprocess.run([netc, "compile", os.path.join(root, path), "--mpi", "-o", exe],
                           check=True, capture_output=True)
            measured[name] = (bench(exe, 1, iters), bench(exe, 2, iters))
    lines.append("| model | batch | 1 rank images/s | 2 ranks images/s | ratio | "
                 "2 ranks: compute / reduction / waiting per step | no overlap: images/s, waiting |")
    lines.append("|---|---|---|---|---|---|---|")
    for name, (one, two) in measured.items():
        o1, o2, n2 = one["overlap"], two["overlap"], two["no_overlap"]
        lines.append(
            f"| {name} | {one['batch']} | {o1['images_per_second']:.0f} | "
            f"{o2['images_per_second']:.0f} | {o2['images_per_second'] / o1['images_per_second']:.2f}x | "
            f"{o2['compute_ms']:.2f} / {o2['reduce_ms']:.2f} / {o2['wait_ms']:.2f} ms of "
            f"{o2['step_ms']:.2f} ms ({100 * (o2['reduce_ms'] + o2['wait_ms']) / o2['step_ms']:.1f}% "
            f"in the all-reduce) | {n2['images_per_second']:.0f}, {n2['wait_ms']:.2f} ms |")
    lines.append("")
    lines.append(f"Model: step(N) = compute(1)/min(N, batch) + 2(N-1)/N x bytes/bandwidth + "
                 f"2(N-1) x {LATENCY * 1e6:.0f} us, global batch fixed (strong scaling).")
    lines.append("")
    lines.append("| model | gradient bytes | compute(1) | link | N | step | speedup | efficiency |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for name, (one, _) in measured.items():
        compute1 = one["overlap"]["step_ms"] / 1e3
        nbytes = one["gradient_bytes"]
        batch = one["batch"]
        for link, bw in LINKS.items():
            for n in RANKS:
                step = model_step(compute1, nbytes, n, bw, batch)
                note = f" (> batch {batch}: idle ranks)" if n > batch else ""
                lines.append(f"| {name} | {nbytes / 1e6:.2f} MB | {compute1 * 1e3:.1f} ms | {link} | "
                             f"{n}{note} | {step * 1e3:.3f} ms | {compute1 / step:.1f}x | "
                             f"{100 * compute1 / step / n:.0f}% |")
        # Where adding ranks stops paying: step(N) no longer falls.
        for link, bw in LINKS.items():
            best = min(range(1, 4097), key=lambda n: model_step(compute1, nbytes, n, bw, batch))
            lines.append(f"| {name} | | | {link} | fastest at N = {best} | "
                         f"{model_step(compute1, nbytes, best, bw, batch) * 1e3:.3f} ms | | |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
