#!/usr/bin/env python3
"""int8 against f32 inference, A/B in one run (docs/quantization.md).

  python3 bench/int8_bench.py --model mlp=MLP.ckpt --model cnn=CNN.ckpt [--rounds 5]

For each examples/fmnist_<model>.nn (or examples/<model>.nn) and its checkpoint: compiles the f32
binary and the int8 one (`--quantize int8 --calibrate fashion-mnist`, 512
calibration images), then measures
  - test-set accuracy of both (`eval --weights`) and the agreement of their
    predictions on the 10,000 test images (`predict`);
  - inference images/s at batch 256: `bench --batch 256` of the two binaries
    alternately, `rounds` times each; medians and their ratio;
  - binary sizes and the weight bytes each inference batch reads (`info`).
Prints a Markdown table; the load average before and after is noted.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETC = os.path.join(ROOT, "build", "bin", "netc")
TEST_IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def sh(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {cmd}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def accuracy(exe, ckpt):
    return float(re.search(r"accuracy\s+([\d.]+)%", sh(f"{exe} eval --weights {ckpt}")).group(1))


def classes(exe, ckpt):
    rows = sh(f"{exe} predict --weights {ckpt} --input {TEST_IMAGES}").splitlines()[1:]
    return [r.split(",")[1] for r in rows]


def infer_ips(exe, iters):
    out = sh(f"{exe} bench --batch 256 --iters {iters} --json").strip().splitlines()[-1]
    return json.loads(out)["infer_images_per_second"]


def weight_bytes(exe):
    m = re.search(r"inference weights: (\d+) bytes read per batch \((\d+) of them int8\)",
                  sh(f"{exe} info"))
    return int(m.group(1)), int(m.group(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", required=True, help="NAME=CKPT")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--dir", default="/tmp/netc-int8-bench")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    load0 = os.getloadavg()
    lines = ["| model | f32 accuracy | int8 accuracy | agreement | f32 images/s | int8 images/s "
             "| ratio | binary f32 / int8 | weight bytes f32 / int8 (of which i8) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for spec in a.model:
        name, ckpt = spec.split("=", 1)
        src = os.path.join(ROOT, "examples", f"fmnist_{name}.nn")
        if not os.path.exists(src):  # resnet.nn, ...
            src = os.path.join(ROOT, "examples", f"{name}.nn")
        f32, i8 = os.path.join(a.dir, name), os.path.join(a.dir, name + "_int8")
        sh(f"{NETC} compile {src} -o {f32}")
        print(sh(f"{NETC} compile {src} --quantize int8 --calibrate fashion-mnist "
                 f"--weights {ckpt} -o {i8}"), end="", file=sys.stderr)
        acc_f, acc_q = accuracy(f32, ckpt), accuracy(i8, ckpt)
        cf, cq = classes(f32, ckpt), classes(i8, ckpt)
        agree = 100.0 * sum(x == y for x, y in zip(cf, cq)) / len(cf)
        runs_f, runs_q = [], []
        for _ in range(a.rounds):  # alternated: f32, int8, f32, int8, ...
            runs_f.append(infer_ips(f32, a.iters))
            runs_q.append(infer_ips(i8, a.iters))
        mf, mq = statistics.median(runs_f), statistics.median(runs_q)
        wf, wq = weight_bytes(f32), weight_bytes(i8)
        print(f"{name}: f32 runs {[round(x) for x in runs_f]}, int8 runs "
              f"{[round(x) for x in runs_q]}", file=sys.stderr)
        lines.append(f"| {name} | {acc_f:.2f}% | {acc_q:.2f}% | {agree:.2f}% | {mf:,.0f} | "
                     f"{mq:,.0f} | {mq / mf:.2f}x | {os.path.getsize(f32):,} / "
                     f"{os.path.getsize(i8):,} | {wf[0]:,} / {wq[0]:,} ({wq[1]:,}) |")
    load1 = os.getloadavg()
    print("\n".join(lines))
    print(f"\nload average {load0[0]:.1f} before, {load1[0]:.1f} after; {a.rounds} alternated "
          f"rounds of `bench --batch 256 --iters {a.iters}` per binary, medians")


if __name__ == "__main__":
    main()
