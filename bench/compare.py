#!/usr/bin/env python3
"""Side-by-side benchmark of netc against its peers, in one run on one machine.

  python3 bench/compare.py [--threads 2] [--rounds 3] [--install-peers] [--out bench/latest.md]

Measures, with the same threads and batch (../shared/bench/README.md):
  - training images/s, mlp and cnn: the compiled binaries' `bench` (median
    step) against PyTorch (Debian's python3-torch, ../shared/bench/ref_torch.py);
  - inference images/s at batch 256 and median latency at batch 1: against
    PyTorch, and ONNX Runtime when onnxruntime-node is installed
    (--install-peers installs it with npm --ignore-scripts, and python3-onnx);
  - compile time (cold cache), and peak resident memory while training;
  - every matmul and conv kernel's GFLOP/s as a share of the machine's
    ~230 GFLOP/s FMA peak (2 threads).
The machines are noisy: each round runs ours and the peers back to back, and
every figure is the median over the rounds. Ratios are ours / peer (> 1 is
better for throughput, < 1 for latency and memory). Writes a Markdown report
with the figures, the issue's targets (met or not) and the kernel table.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "bench")
PEAK = 230.0  # GFLOP/s, 2 threads (../shared/bench/README.md)
PY = "/usr/bin/python3"  # Debian's, where python3-torch lives
MODELS = ("mlp", "cnn")


def sh(cmd, env=None, check=True):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        sys.exit(f"failed: {cmd}\n{r.stdout}\n{r.stderr}")
    return r


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    return None


def peak_rss_mb(cmd, env=None):
    r = sh(f"/usr/bin/time -v {cmd}", env=env)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return (int(m.group(1)) / 1024 if m else None), r


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Ours:
    def __init__(self, kind, threads, cache):
        self.env = dict(os.environ, NETC_CACHE_DIR=cache, NETC_THREADS=str(threads))
        self.exe = os.path.join(cache, kind)
        t0 = time.perf_counter()
        sh(f"{ROOT}/build/bin/netc compile {ROOT}/examples/fmnist_{kind}.nn -o {self.exe}",
           env=self.env)
        self.compile_s = time.perf_counter() - t0
        self.rss_mb, _ = peak_rss_mb(f"{self.exe} train --random-data --steps 100 --batch 128",
                                     env=self.env)
        self.rounds = []

    def bench(self, batch, iters):
        return last_json(sh(f"{self.exe} bench --batch {batch} --iters {iters} --json",
                            env=self.env).stdout)

    def round(self):
        train, b256, b1 = self.bench(128, 20), self.bench(256, 20), self.bench(1, 100)
        flops = sum(k["flops"] for k in train["train_kernels"])
        self.rounds.append({
            "train_ips": train["images_per_second"],
            "train_gflops": flops / (train["step_ms"] * 1e-3) / 1e9,
            "infer_ips_b256": b256["infer_images_per_second"],
            "latency_ms_b1": b1["infer_ms"],
            "kernels": {f"{k['name']} (batch 128)": k for k in train["train_kernels"] +
                        train["infer_kernels"] if k["kind"] in ("matmul", "conv")}})

    def figure(self, key):
        return median([r[key] for r in self.rounds])

    def kernel_table(self):
        names = list(self.rounds[0]["kernels"])
        rows = []
        for n in names:
            k = self.rounds[0]["kernels"][n]
            rows.append((n, k["ops"], median([r["kernels"][n]["median_us"] for r in self.rounds]),
                         median([r["kernels"][n]["gflops"] for r in self.rounds])))
        return rows


def torch_round(kind, threads):
    limit = "" if kind == "mlp" else "--limit 12800"
    rss, r = peak_rss_mb(f"{PY} {SHARED}/ref_torch.py {kind} --epochs 1 --threads {threads} {limit}")
    epoch = json.loads([l for l in r.stdout.splitlines() if '"epoch"' in l][0])
    final = last_json(r.stdout)
    return {"train_ips": epoch["images_per_s"], "infer_ips_b256": final["infer_images_per_s_b256"],
            "latency_ms_b1": final["infer_latency_ms_b1_median"], "rss_mb": rss}


def ort_available():
    return os.path.isdir("/tmp/ortb/node_modules/onnxruntime-node")


def ort_round():
    out = sh(f"NODE_PATH=/tmp/ortb/node_modules node {SHARED}/ort_bench.js").stdout
    res = {k: {} for k in MODELS}
    for line in out.splitlines():
        if line.startswith("{"):
            j = json.loads(line)
            kind = "mlp" if "mlp" in j["model"] else "cnn"
            if j["batch"] == 256:
                res[kind]["infer_ips_b256"] = j["images_per_s"]
            else:
                res[kind]["latency_ms_b1"] = j["median_ms"]
    return res


def install_peers():
    sh("apt-get install -y -qq python3-onnx >/dev/null 2>&1 || sudo apt-get install -y -qq python3-onnx",
       check=False)
    sh("mkdir -p /tmp/ortb && cd /tmp/ortb && (test -f package.json || npm init -y >/dev/null) && "
       "npm install --ignore-scripts onnxruntime-node@1.30.0 >/dev/null 2>&1", check=False)


def ratio(a, b):
    return a / b if a and b else None


def fmt_ratio(r):
    return f"{r:.2f}x" if r else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--install-peers", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "latest.md"))
    a = ap.parse_args()
    if a.install_peers:
        install_peers()
    cache = tempfile.mkdtemp(prefix="netc-bench-")
    ours = {k: Ours(k, a.threads, cache) for k in MODELS}
    if ort_available():
        sh(f"{PY} {SHARED}/export_onnx.py")
    torch = {k: [] for k in MODELS}
    ort = {k: [] for k in MODELS}
    for _ in range(a.rounds):
        for k in MODELS:
            ours[k].round()
            torch[k].append(torch_round(k, a.threads))
        if ort_available():
            res = ort_round()
            for k in MODELS:
                ort[k].append(res[k])

    def peer(rounds, key):
        return median([r.get(key) for r in rounds])

    lines = [f"# netc vs peers ({a.threads} threads; {time.strftime('%Y-%m-%d %H:%M')}; "
             f"medians of {a.rounds} rounds)", "",
             "| model | metric | netc | PyTorch | ratio | ONNX Runtime | ratio |",
             "|---|---|---|---|---|---|---|"]
    targets = []
    for k in MODELS:
        o, t, p = ours[k], torch[k], ort[k]
        tr, ti, tl = o.figure("train_ips"), o.figure("infer_ips_b256"), o.figure("latency_ms_b1")
        pt, pi, pl = peer(t, "train_ips"), peer(t, "infer_ips_b256"), peer(t, "latency_ms_b1")
        oi, ol = peer(p, "infer_ips_b256"), peer(p, "latency_ms_b1")
        rss_t = peer(t, "rss_mb")
        lines.append(f"| {k} | training images/s, batch 128 | {tr:,.0f} | {pt:,.0f} | "
                     f"{fmt_ratio(ratio(tr, pt))} | | |")
        lines.append(f"| {k} | inference images/s, batch 256 | {ti:,.0f} | {pi:,.0f} | "
                     f"{fmt_ratio(ratio(ti, pi))} | {oi or 0:,.0f} | {fmt_ratio(ratio(ti, oi))} |")
        lines.append(f"| {k} | latency ms, batch 1 (lower is better) | {tl:.3f} | {pl:.3f} | "
                     f"{fmt_ratio(ratio(tl, pl))} | {ol or 0:.3f} | {fmt_ratio(ratio(tl, ol))} |")
        lines.append(f"| {k} | peak memory MB while training (lower is better) | "
                     f"{o.rss_mb or 0:.0f} | {rss_t or 0:.0f} | {fmt_ratio(ratio(o.rss_mb, rss_t))} | | |")
        lines.append(f"| {k} | compile seconds (cold cache) | {o.compile_s:.1f} | | | | |")
        g = o.figure("train_gflops")
        lines.append(f"| {k} | training GFLOP/s (share of the {PEAK:.0f} GFLOP/s peak) | "
                     f"{g:.1f} ({100 * g / PEAK:.0f}%) | | | | |")
        want = 5.0 if k == "mlp" else 2.5
        targets.append((f"{k} training >= {want}x PyTorch", ratio(tr, pt), lambda r, w=want: r >= w))
        targets.append((f"{k} inference, batch 256, >= 1.3x ONNX Runtime", ratio(ti, oi),
                        lambda r: r >= 1.3))
        targets.append((f"{k} latency, batch 1, <= ONNX Runtime", ratio(tl, ol), lambda r: r <= 1.0))
        targets.append((f"{k} training peak memory < PyTorch's", ratio(o.rss_mb, rss_t),
                        lambda r: r < 1.0))
    lines += ["", "## Targets (performance issue)", "", "| target | ratio | met |", "|---|---|---|"]
    for name, r, ok in targets:
        lines.append(f"| {name} | {fmt_ratio(r)} | {'yes' if r and ok(r) else 'no'} |")
    lines += ["", f"## Matmul and conv kernels (`OUT bench`, batch 128; 80% of peak = "
              f"{0.8 * PEAK:.0f} GFLOP/s)", "",
              "Winograd convolutions report the direct convolution's FLOPs, so they can exceed "
              "the peak.", "",
              "| model | kernel | ops | median us | GFLOP/s | share of peak | >= 80% |",
              "|---|---|---|---|---|---|---|"]
    for k in MODELS:
        for name, ops, us, gf in ours[k].kernel_table():
            lines.append(f"| {k} | {name} | {ops} | {us:.1f} | {gf:.1f} | {100 * gf / PEAK:.0f}% | "
                         f"{'yes' if gf >= 0.8 * PEAK else 'no'} |")
    lines += ["", "What limits the kernels below 80% (measured): bench/RESULTS.md, section 9."]
    if not ort_available():
        lines += ["", "ONNX Runtime: not installed (run with --install-peers)."]
    text = "\n".join(lines) + "\n"
    with open(a.out + ".tmp", "w") as f:
        f.write(text)
    os.replace(a.out + ".tmp", a.out)
    print(text)


if __name__ == "__main__":
    main()
