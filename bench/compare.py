#!/usr/bin/env python3
"""Side-by-side benchmark of netc against its peers, in one run on one machine.

  python3 bench/compare.py [--models mlp,cnn,resnet,...] [--threads 2] [--rounds 3]
                           [--install-peers] [--out bench/latest.md]

Measures, with the same threads and batch (../shared/bench/README.md):
  - training images/s, mlp and cnn: the compiled binaries' `bench` (median
    step) against PyTorch (Debian's python3-torch, ../shared/bench/ref_torch.py);
    the model zoo (resnet, inception, mobilenet, lstm, vit; examples/X.nn):
    against the PyTorch twins of tests/e2e, timed step by step on a random
    batch with the train block's optimizer (bench/zoo_torch.py);
  - inference images/s at batch 256 and median latency at batch 1: against
    PyTorch, and ONNX Runtime when onnxruntime-node is installed
    (--install-peers installs it with npm --ignore-scripts, and python3-onnx);
    the zoo's twins are exported to ONNX by bench/zoo_torch.py and timed by
    bench/ort_zoo.js, with the settings of ../shared/bench;
  - compile time (cold cache) with the kernel count, the time of a cache hit,
    and peak resident memory while training;
  - mlp and cnn: every kernel against its roofline, max(FLOPs / peak,
    bytes / bandwidth), the bandwidth measured here by a STREAM-style triad
    (bench/triad.py) at the working-set size nearest the kernel's bytes;
  - every matmul and conv kernel's GFLOP/s as a share of the machine's FMA
    peak, measured here (bench/fma_peak.c: independent vector FMA chains on
    every thread; the issues' 230 GFLOP/s was another machine's); for the zoo,
    only the matmul and conv kernels with the largest share of the step
    (--zoo-kernels of each pass).
The machines are noisy: each round runs ours and the peers back to back, and
every figure is the median over the rounds. Ratios are ours / peer (> 1 is
better for throughput, < 1 for latency and memory). Writes a Markdown report
with the figures, the issue's targets (met or not) and the kernel table.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "bench")
ISSUE_PEAK = 230.0  # GFLOP/s, 2 threads: the issues' machine (../shared/bench/README.md)
STEP_SHARE = {"mlp": 0.85, "cnn": 0.80}  # issue 15: the whole training step's share of peak
PY = "/usr/bin/python3"  # Debian's, where python3-torch lives
REFERENCE = ("mlp", "cnn")  # ../shared/bench's workloads
ZOO = ("resnet", "inception", "mobilenet", "lstm", "vit")  # examples/X.nn, twins in tests/e2e
MODELS = REFERENCE + ZOO
ZOO_SHAPE = {"lstm": "28x28"}  # the input without the batch; the others 1x28x28
# Issue 15's targets for the zoo (ours / peer).
ZOO_TRAIN_X, ZOO_INFER_X, ZOO_LATENCY_X, ZOO_COMPILE_S = 3.0, 1.3, 0.8, 30.0
ROOFLINE_X = 1.5  # issue 15: no mlp or cnn kernel above 1.5x its roofline time
CACHE_HIT_S = 0.2  # issue 15: a cache hit compiles in under 0.2 s
TRIAD_MB = (0.25, 1, 4, 16, 64, 256)  # per array; three arrays per process
COMPILE_TARGET = ("resnet", "vit")  # cold compile <= ZOO_COMPILE_S


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


def triad_bandwidth(threads):
    """{working-set bytes: GB/s} from bench/triad.py (Debian's python3 and numpy)."""
    out = sh(f"{PY} {ROOT}/bench/triad.py --threads {threads} "
             f"--mb {','.join(str(m) for m in TRIAD_MB)}").stdout
    return {int(k): v for k, v in json.loads(out).items()}


def build_fma_peak(directory):
    """bench/fma_peak.c built into `directory` with -march=native: its path, or
    None if it cannot be built."""
    exe = os.path.join(directory, "fma_peak")
    r = sh(f"cc -O2 -march=native -pthread {ROOT}/bench/fma_peak.c -o {exe}", check=False)
    return exe if r.returncode == 0 else None


def fma_peak(threads, rounds=3):
    """The machine's f32 FMA peak in GFLOP/s over `threads` threads: the best of
    `rounds` runs of bench/fma_peak.c. None if it cannot be built or run."""
    with tempfile.TemporaryDirectory(prefix="netc-fma-") as d:
        exe = build_fma_peak(d)
        if exe is None:
            return None
        runs = [last_json(sh(f"{exe} {threads}", check=False).stdout) for _ in range(rounds)]
    runs = [r["gflops"] for r in runs if r and r.get("gflops", 0) > 0]
    return max(runs) if runs else None


def bandwidth_for(triad, nbytes):
    """The triad's GB/s at the smallest working set holding nbytes (else the largest)."""
    fits = [ws for ws in sorted(triad) if ws >= nbytes]
    return triad[fits[0] if fits else max(triad)]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Ours:
    def __init__(self, kind, threads, cache, iters=20, netc=None):
        # Each model compiles into a cache of its own, so every compile is cold.
        cache = os.path.join(cache, kind)
        os.makedirs(cache, exist_ok=True)
        self.env = dict(os.environ, NETC_CACHE_DIR=cache, NETC_THREADS=str(threads))
        self.exe = os.path.join(cache, kind)
        self.iters = iters
        src = f"fmnist_{kind}.nn" if kind in REFERENCE else f"{kind}.nn"
        compile_cmd = f"{netc or ROOT + '/build/bin/netc'} compile {ROOT}/examples/{src} -o {self.exe}"
        t0 = time.perf_counter()
        out = sh(compile_cmd, env=self.env)
        self.compile_s = time.perf_counter() - t0
        m = re.search(r"\((\d+) kernels", out.stdout + out.stderr)
        self.kernel_count = int(m.group(1)) if m else None
        # The same compile again: a cache hit (the whole `netc compile` process).
        hits = []
        for _ in range(3):
            t0 = time.perf_counter()
            sh(compile_cmd, env=self.env)
            hits.append(time.perf_counter() - t0)
        self.hit_s = statistics.median(hits)
        steps = 100 if kind in REFERENCE else 20
        self.rss_mb, _ = peak_rss_mb(f"{self.exe} train --random-data --steps {steps} --batch 128",
                                     env=self.env)
        self.rounds = []

    def bench(self, batch, iters):
        return last_json(sh(f"{self.exe} bench --batch {batch} --iters {iters} --json",
                            env=self.env).stdout)

    def round(self):
        n = self.iters
        train, b256, b1 = self.bench(128, n), self.bench(256, n), self.bench(1, 5 * n)
        flops = sum(k["flops"] for k in train["train_kernels"])
        self.rounds.append({
            "train_ips": train["images_per_second"],
            "train_gflops": flops / (train["step_ms"] * 1e-3) / 1e9,
            "infer_ips_b256": b256["infer_images_per_second"],
            "latency_ms_b1": b1["infer_ms"],
            "kernels": {f"{k['name']} (batch 128)": k for k in train["train_kernels"] +
                        train["infer_kernels"] if k["kind"] in ("matmul", "conv")},
            "all_kernels": {k["name"]: k for k in train["train_kernels"] + train["infer_kernels"]
                            if k["calls"] > 0}})

    def figure(self, key):
        return median([r[key] for r in self.rounds])

    def roofline_table(self, triad, peak):
        """(name, kind, ops, median us, roofline us, ratio, bound) for every kernel
        of the training step and inference at batch 128 (not those run once per
        weights change)."""
        rows = []
        for n, k in self.rounds[0]["all_kernels"].items():
            us = median([r["all_kernels"][n]["median_us"] for r in self.rounds])
            compute_us = k["flops"] / (peak * 1e3)
            memory_us = k["bytes"] / (bandwidth_for(triad, k["bytes"]) * 1e3)
            roof = max(compute_us, memory_us)
            rows.append((n, k["kind"], k["ops"], us, roof, us / roof if roof > 0 else None,
                         "compute" if compute_us >= memory_us else "memory"))
        return rows

    def kernel_table(self, top=None):
        """(name, ops, median us, GFLOP/s, % of its pass); with top, only the `top`
        matmul and conv kernels of each pass (training step, inference) with the
        largest share of that pass's time (`bench`'s share)."""
        rows = []
        for n, k in self.rounds[0]["kernels"].items():
            share = median([r["kernels"][n].get("share") for r in self.rounds])
            rows.append((n, k["ops"], median([r["kernels"][n]["median_us"] for r in self.rounds]),
                         median([r["kernels"][n]["gflops"] for r in self.rounds]),
                         None if share is None else 100 * share))
        if top is None:
            return rows
        keep = set()
        for prefix in ("train", "infer"):
            mine = [r for r in rows if r[0].startswith(prefix)]
            keep |= {r[0] for r in sorted(mine, key=lambda r: -(r[4] or 0))[:top]}
        return [r for r in rows if r[0] in keep]


def torch_round(kind, threads):
    limit = "" if kind == "mlp" else "--limit 12800"
    rss, r = peak_rss_mb(f"{PY} {SHARED}/ref_torch.py {kind} --epochs 1 --threads {threads} {limit}")
    epoch = json.loads([l for l in r.stdout.splitlines() if '"epoch"' in l][0])
    final = last_json(r.stdout)
    return {"train_ips": epoch["images_per_s"], "infer_ips_b256": final["infer_images_per_s_b256"],
            "latency_ms_b1": final["infer_latency_ms_b1_median"], "rss_mb": rss}


def zoo_torch_round(kind, threads, steps):
    r = sh(f"{PY} {ROOT}/bench/zoo_torch.py round {kind} --threads {threads} --steps {steps}")
    return last_json(r.stdout)


def twin_params(kind):
    return int(sh(f"{PY} {ROOT}/bench/zoo_torch.py count {kind}").stdout.split()[-1])


def netc_params(kind, netc):
    out = sh(f"{netc} check {ROOT}/examples/{kind}.nn").stdout
    m = re.search(r"^([0-9,]+) trainable parameters", out, re.M)
    return int(m.group(1).replace(",", "")) if m else None


ONNX_DIR = "/tmp/netc_zoo_onnx"


def zoo_export(kinds):
    os.makedirs(ONNX_DIR, exist_ok=True)
    for k in kinds:
        sh(f"{PY} {ROOT}/bench/zoo_torch.py export {k} {ONNX_DIR}")


def zoo_ort_round(kind, threads, iters):
    res = {}
    for batch, reps, key in ((256, max(iters, 5), "infer_ips_b256"), (1, 30 * iters, "latency_ms_b1")):
        j = last_json(sh(f"NODE_PATH=/tmp/ortb/node_modules node {ROOT}/bench/ort_zoo.js "
                         f"{ONNX_DIR}/{kind}_b{batch}.onnx {batch} {reps} "
                         f"{ZOO_SHAPE.get(kind, '1x28x28')} {threads}").stdout)
        res[key] = j["images_per_s"] if batch == 256 else j["median_ms"]
    return res


def ort_available():
    return os.path.isdir("/tmp/ortb/node_modules/onnxruntime-node")


def ort_round():
    out = sh(f"NODE_PATH=/tmp/ortb/node_modules node {SHARED}/ort_bench.js").stdout
    res = {k: {} for k in REFERENCE}
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


def write_report(a, models, ours, torch, ort, mismatch, triad, peak):
    """peak: the measured FMA peak (GFLOP/s, fma_peak), or None (then the issues' 230)."""
    peak_gf = peak or ISSUE_PEAK
    peak_name = (f"measured {peak_gf:.0f} GFLOP/s FMA peak" if peak else
                 f"{peak_gf:.0f} GFLOP/s FMA peak (not measured here: no C compiler)")
    """The Markdown report from the rounds so far (written after every round, so
    an interrupted run leaves the rounds it finished)."""
    ref = [m for m in models if m in REFERENCE]
    zoo = [m for m in models if m in ZOO]
    rounds_done = min(len(ours[m].rounds) for m in models)

    def peer(rounds, key):
        return median([r.get(key) for r in rounds])

    lines = [f"# netc vs peers ({a.threads} threads; {time.strftime('%Y-%m-%d %H:%M')}; "
             f"medians of {rounds_done} of {a.rounds} rounds)", ""]
    if a.note:
        lines += [a.note, ""]
    if zoo:
        lines += [f"Zoo models ({', '.join(zoo)}): PyTorch is the twin of tests/e2e "
                  "(bench/zoo_torch.py), one training step on a random batch of 128 with the "
                  "train block's optimizer, median of "
                  f"{a.zoo_iters} steps; its peak memory is the process's up to the end of "
                  "training. ONNX Runtime runs the twin exported to ONNX (opset 13).", ""]
    if mismatch:
        lines += ["**Twin mismatch** (trainable parameters): " + "; ".join(mismatch), ""]
    lines += ["| model | metric | netc | PyTorch | ratio | ONNX Runtime | ratio |",
              "|---|---|---|---|---|---|---|"]
    targets = []
    for k in models:
        o, t, p = ours[k], torch[k], ort[k]
        tr, ti, tl = o.figure("train_ips"), o.figure("infer_ips_b256"), o.figure("latency_ms_b1")
        pt, pi, pl = peer(t, "train_ips"), peer(t, "infer_ips_b256"), peer(t, "latency_ms_b1")
        oi, ol = peer(p, "infer_ips_b256"), peer(p, "latency_ms_b1")
        rss_t = peer(t, "rss_mb")
        lines.append(f"| {k} | training images/s, batch 128 | {tr:,.0f} | {pt:,.0f} | "
                     f"{fmt_ratio(ratio(tr, pt))} | | |")
        lines.append(f"| {k} | inference images/s, batch 256 | {ti:,.0f} | {pi:,.0f} | "
                     f"{fmt_ratio(ratio(ti, pi))} | {'-' if oi is None else f'{oi:,.0f}'} | "
                     f"{fmt_ratio(ratio(ti, oi))} |")
        lines.append(f"| {k} | latency ms, batch 1 (lower is better) | {tl:.3f} | {pl:.3f} | "
                     f"{fmt_ratio(ratio(tl, pl))} | {'-' if ol is None else f'{ol:.3f}'} | "
                     f"{fmt_ratio(ratio(tl, ol))} |")
        lines.append(f"| {k} | peak memory MB while training (lower is better) | "
                     f"{o.rss_mb or 0:.0f} | {rss_t or 0:.0f} | {fmt_ratio(ratio(o.rss_mb, rss_t))} | | |")
        lines.append(f"| {k} | compile seconds (cold cache) | {o.compile_s:.1f} | | | | |")
        g = o.figure("train_gflops")
        lines.append(f"| {k} | training GFLOP/s (share of the {peak_name}; of the issues' "
                     f"{ISSUE_PEAK:.0f}) | {g:.1f} ({100 * g / peak_gf:.0f}%; {100 * g / ISSUE_PEAK:.0f}%) "
                     "| | | | |")
        if k in REFERENCE:
            want = 5.0 if k == "mlp" else 2.5
            targets.append((f"{k} training >= {want}x PyTorch", ratio(tr, pt), lambda r, w=want: r >= w))
            targets.append((f"{k} inference, batch 256, >= 1.3x ONNX Runtime", ratio(ti, oi),
                            lambda r: r >= 1.3))
            targets.append((f"{k} latency, batch 1, <= ONNX Runtime", ratio(tl, ol), lambda r: r <= 1.0))
            targets.append((f"{k} training peak memory < PyTorch's", ratio(o.rss_mb, rss_t),
                            lambda r: r < 1.0))
            targets.append((f"{k} whole training step >= {100 * STEP_SHARE[k]:.0f}% of the FMA peak "
                            f"(issue 15; the step's share of the {peak_name})", g / peak_gf,
                            lambda r, w=STEP_SHARE[k]: r >= w, "%"))
            worst = max((r[5] for r in o.roofline_table(triad, peak_gf) if r[5]), default=None)
            targets.append((f"{k}: every kernel <= {ROOFLINE_X:g}x its roofline (issue 15; the "
                            "worst kernel's ratio)", worst, lambda r: r <= ROOFLINE_X))
        else:
            targets.append((f"{k} training >= {ZOO_TRAIN_X:g}x PyTorch (issue 15)", ratio(tr, pt),
                            lambda r: r >= ZOO_TRAIN_X))
            targets.append((f"{k} inference, batch 256, >= {ZOO_INFER_X:g}x ONNX Runtime (issue 15)",
                            ratio(ti, oi), lambda r: r >= ZOO_INFER_X))
            targets.append((f"{k} latency, batch 1, <= {ZOO_LATENCY_X:g}x ONNX Runtime (issue 15)",
                            ratio(tl, ol), lambda r: r <= ZOO_LATENCY_X))
            targets.append((f"{k} training peak memory < PyTorch's (issue 15)",
                            ratio(o.rss_mb, rss_t), lambda r: r < 1.0))
            targets.append((f"{k} cache hit < {CACHE_HIT_S:g} s (issue 15)", o.hit_s,
                            lambda s: s < CACHE_HIT_S, "s"))
            if k in COMPILE_TARGET:
                targets.append((f"{k} compile (cold cache) <= {ZOO_COMPILE_S:g} s (issue 15)",
                                o.compile_s, lambda s: s <= ZOO_COMPILE_S, "s"))
    lines += ["", "## Targets (performance issues)", "",
              "| target | ratio | met |", "|---|---|---|"]
    for name, r, ok, *unit in targets:
        if r is None:
            shown = "-"
        elif unit:
            shown = f"{100 * r:.0f}%" if unit[0] == "%" else f"{r:.2f} {unit[0]}"
        else:
            shown = fmt_ratio(r)
        met = "not measured" if r is None else ("yes" if ok(r) else "**no**")
        lines.append(f"| {name} | {shown} | {met} |")
    lines += ["", "## Compile time (cold cache) against the number of kernels", "",
              "Seconds per kernel stay flat if compile time grows linearly with the kernels. "
              f"A cache hit is the whole `netc compile` process again (median of 3).", "",
              "| model | kernels | cold seconds | ms per kernel | cache hit seconds |",
              "|---|---|---|---|---|"]
    for k in sorted(models, key=lambda m: ours[m].kernel_count or 0):
        o = ours[k]
        per = f"{1e3 * o.compile_s / o.kernel_count:.0f}" if o.kernel_count else "-"
        lines.append(f"| {k} | {o.kernel_count or '-'} | {o.compile_s:.1f} | {per} | "
                     f"{o.hit_s:.2f} |")
    if ref:
        bw = ", ".join(f"{ws / 2**20:g} MB: {gb:.0f}" for ws, gb in sorted(triad.items()))
        lines += ["", f"## Roofline: every kernel of the mlp and cnn (`OUT bench`, batch 128)", "",
                  f"Roofline time = max(FLOPs / {peak_gf:.0f} GFLOP/s, bytes / bandwidth). Bytes: the "
                  "kernel's buffers, each moved once. Bandwidth: the triad's GB/s at the smallest "
                  f"working set that holds the kernel's bytes ({bw}). Winograd convolutions count "
                  "the direct convolution's FLOPs, so their ratio can be below 1.", "",
                  "| model | kernel | kind | ops | median us | roofline us | ratio | bound | "
                  f"<= {ROOFLINE_X:g}x |", "|---|---|---|---|---|---|---|---|---|"]
        for k in ref:
            for name, kind, ops, us, roof, r, bound in ours[k].roofline_table(triad, peak_gf):
                ops = ops if len(ops) <= 50 else ops[:47] + "..."
                lines.append(f"| {k} | {name} | {kind} | {ops} | {us:.1f} | {roof:.1f} | "
                             f"{fmt_ratio(r)} | {bound} | "
                             f"{'yes' if r is not None and r <= ROOFLINE_X else '**no**'} |")
        lines += ["", f"## Matmul and conv kernels (`OUT bench`, batch 128; 80% of peak = "
                  f"{0.8 * peak_gf:.0f} GFLOP/s)", "",
                  "Winograd convolutions report the direct convolution's FLOPs, so they can exceed "
                  "the peak.", "",
                  "| model | kernel | ops | median us | GFLOP/s | share of peak | >= 80% |",
                  "|---|---|---|---|---|---|---|"]
        for k in ref:
            for name, ops, us, gf, _ in ours[k].kernel_table():
                lines.append(f"| {k} | {name} | {ops} | {us:.1f} | {gf:.1f} | {100 * gf / peak_gf:.0f}% | "
                             f"{'yes' if gf >= 0.8 * peak_gf else 'no'} |")
        lines += ["", "What limits the kernels below 80% (measured): bench/RESULTS.md, section 9."]
    if zoo:
        lines += ["", f"## Zoo: the {a.zoo_kernels} matmul and conv kernels of each pass with the "
                  "largest share of its time (`OUT bench`, batch 128)", "",
                  "Ops are cut at 60 characters. The share is of the training step (train_) or of "
                  "the inference pass (infer_).", "",
                  "| model | kernel | ops | median us | share of pass | GFLOP/s | share of peak |",
                  "|---|---|---|---|---|---|---|"]
        for k in zoo:
            for name, ops, us, gf, share in ours[k].kernel_table(a.zoo_kernels):
                ops = ops if len(ops) <= 60 else ops[:57] + "..."
                lines.append(f"| {k} | {name} | {ops} | {us:.1f} | "
                             f"{'-' if share is None else f'{share:.1f}%'} | {gf:.1f} | "
                             f"{100 * gf / peak_gf:.0f}% |")
    if not ort_available():
        lines += ["", "ONNX Runtime: not installed (run with --install-peers)."]
    text = "\n".join(lines) + "\n"
    with open(a.out + ".tmp", "w") as f:
        f.write(text)
    os.replace(a.out + ".tmp", a.out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated, of {','.join(MODELS)} (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--zoo-iters", type=int, default=10,
                    help="zoo: timed steps per `bench` call and per PyTorch phase (batch 1: 5x)")
    ap.add_argument("--zoo-kernels", type=int, default=5,
                    help="zoo: matmul and conv kernels listed per pass, by share of its time")
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "bin", "netc"))
    ap.add_argument("--cache", help="netc's cache (default: a new one, so compiles are cold; "
                    "with a used one the compile seconds are not cold)")
    ap.add_argument("--install-peers", action="store_true")
    ap.add_argument("--note", default="", help="a line for the report's header (e.g. the load)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "latest.md"))
    a = ap.parse_args()
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    bad = [m for m in models if m not in MODELS]
    if bad:
        sys.exit(f"unknown models {bad}; choose from {','.join(MODELS)}")
    models = [m for m in MODELS if m in models]
    ref = [m for m in models if m in REFERENCE]
    zoo = [m for m in models if m in ZOO]
    if a.install_peers:
        install_peers()
    cache = a.cache or tempfile.mkdtemp(prefix="netc-bench-")
    ours = {}
    for k in models:
        print(f"compiling {k} ...", file=sys.stderr, flush=True)
        ours[k] = Ours(k, a.threads, cache, 20 if k in REFERENCE else a.zoo_iters, a.netc)
        print(f"  {ours[k].compile_s:.1f} s", file=sys.stderr, flush=True)
    # The twins must be the models: equal trainable parameter counts.
    mismatch = []
    for k in zoo:
        n, t = netc_params(k, a.netc), twin_params(k)
        if n != t:
            mismatch.append(f"{k}: netc check {n}, twin {t}")
    if ort_available():
        if ref:
            sh(f"{PY} {SHARED}/export_onnx.py")
        zoo_export(zoo)
    print("triad bandwidth ...", file=sys.stderr, flush=True)
    triad = triad_bandwidth(a.threads)
    print("FMA peak ...", file=sys.stderr, flush=True)
    peak = fma_peak(a.threads)
    torch = {k: [] for k in models}
    ort = {k: [] for k in models}
    for rnd in range(a.rounds):
        for k in models:
            print(f"round {rnd + 1}: {k}", file=sys.stderr, flush=True)
            ours[k].round()
            if k in REFERENCE:
                torch[k].append(torch_round(k, a.threads))
            else:
                torch[k].append(zoo_torch_round(k, a.threads, a.zoo_iters))
                if ort_available():
                    ort[k].append(zoo_ort_round(k, a.threads, a.zoo_iters))
            write_report(a, [m for m in models if ours[m].rounds], ours, torch, ort, mismatch,
                         triad, peak)
        if ort_available() and ref:
            res = ort_round()
            for k in ref:
                ort[k].append(res[k])
            write_report(a, models, ours, torch, ort, mismatch, triad, peak)
    print(open(a.out).read())


if __name__ == "__main__":
    main()
