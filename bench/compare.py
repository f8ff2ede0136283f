#!/usr/bin/env python3
"""Side-by-side benchmark of netc against its peers, in one run on one machine.

  python3 bench/compare.py [--threads 2] [--install-peers] [--out bench/latest.md]

Measures, with the same threads and batch (../shared/bench/README.md):
  - training images/s, mlp and cnn: the compiled binaries' `bench` (median
    step) against PyTorch (Debian's python3-torch, ../shared/bench/ref_torch.py);
  - inference images/s at batch 256 and median latency at batch 1: against
    PyTorch, and ONNX Runtime when onnxruntime-node is installed
    (--install-peers installs it with npm --ignore-scripts, and python3-onnx);
  - compile time (cold cache), and peak resident memory while training.
Writes a Markdown table of the figures and ratios (ours / peer: > 1 is
better for throughput, < 1 for latency and memory) and each model's achieved
GFLOP/s as a share of the machine's ~230 GFLOP/s FMA peak. The machines are
noisy: run it twice and compare ratios, not absolute figures.
"""
import argparse, json, os, re, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "bench")
PEAK = 230.0  # GFLOP/s, 2 threads (../shared/bench/README.md)
PY = "/usr/bin/python3"  # Debian's, where python3-torch lives


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


def peak_rss_kb(cmd, env=None):
    r = sh(f"/usr/bin/time -v {cmd}", env=env)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return int(m.group(1)) if m else None


def ours(kind, threads, cache):
    env = dict(os.environ, NETC_CACHE_DIR=cache, NETC_THREADS=str(threads))
    exe = os.path.join(cache, kind)
    t0 = time.perf_counter()
    sh(f"{ROOT}/build/bin/netc compile {ROOT}/examples/fmnist_{kind}.nn -o {exe}", env=env)
    compile_s = time.perf_counter() - t0
    train = last_json(sh(f"{exe} bench --batch 128 --iters 20 --json", env=env).stdout)
    b256 = last_json(sh(f"{exe} bench --batch 256 --iters 20 --json", env=env).stdout)
    b1 = last_json(sh(f"{exe} bench --batch 1 --iters 50 --json", env=env).stdout)
    rss = peak_rss_kb(f"{exe} train --random-data --steps 100 --batch 128", env=env)
    flops = sum(k["flops"] for k in train["train_kernels"])
    return {"compile_s": compile_s, "train_ips": train["images_per_second"],
            "train_gflops": flops / (train["step_ms"] * 1e-3) / 1e9,
            "infer_ips_b256": b256["infer_images_per_second"], "latency_ms_b1": b1["infer_ms"],
            "rss_mb": rss / 1024 if rss else None}


def torch_peer(kind, threads):
    limit = "" if kind == "mlp" else "--limit 6400"
    cmd = f"{PY} {SHARED}/ref_torch.py {kind} --epochs 1 --threads {threads} {limit}"
    rss = None
    r = sh(f"/usr/bin/time -v {cmd}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    rss = int(m.group(1)) / 1024 if m else None
    epoch = json.loads([l for l in r.stdout.splitlines() if '"epoch"' in l][0])
    final = last_json(r.stdout)
    return {"train_ips": epoch["images_per_s"], "infer_ips_b256": final["infer_images_per_s_b256"],
            "latency_ms_b1": final["infer_latency_ms_b1_median"], "rss_mb": rss}


def ort_peer(threads):
    nm = "/tmp/ortb/node_modules"
    if not os.path.isdir(os.path.join(nm, "onnxruntime-node")):
        return None
    sh(f"{PY} {SHARED}/export_onnx.py")
    out = sh(f"NODE_PATH={nm} node {SHARED}/ort_bench.js").stdout
    res = {}
    for line in out.splitlines():
        if line.startswith("{"):
            j = json.loads(line)
            kind = "mlp" if "mlp" in j["model"] else "cnn"
            res.setdefault(kind, {})
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
    return f"{a / b:.2f}x" if a and b else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--install-peers", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "latest.md"))
    a = ap.parse_args()
    if a.install_peers:
        install_peers()
    cache = tempfile.mkdtemp(prefix="netc-bench-")
    ort = ort_peer(a.threads)
    rows = []
    for kind in ("mlp", "cnn"):
        o, t = ours(kind, a.threads, cache), torch_peer(kind, a.threads)
        p = (ort or {}).get(kind, {})
        rows.append((kind, o, t, p))
    lines = [f"# netc vs peers ({a.threads} threads, batch 128 training; {time.strftime('%Y-%m-%d %H:%M')})", "",
             "| model | metric | netc | PyTorch | ratio | ONNX Runtime | ratio |", "|---|---|---|---|---|---|---|"]
    for kind, o, t, p in rows:
        lines.append(f"| {kind} | training images/s | {o['train_ips']:,.0f} | {t['train_ips']:,.0f} | "
                     f"{ratio(o['train_ips'], t['train_ips'])} | | |")
        lines.append(f"| {kind} | inference images/s, batch 256 | {o['infer_ips_b256']:,.0f} | "
                     f"{t['infer_ips_b256']:,.0f} | {ratio(o['infer_ips_b256'], t['infer_ips_b256'])} | "
                     f"{p.get('infer_ips_b256', 0):,.0f} | {ratio(o['infer_ips_b256'], p.get('infer_ips_b256'))} |")
        lines.append(f"| {kind} | latency ms, batch 1 (lower is better) | {o['latency_ms_b1']:.3f} | "
                     f"{t['latency_ms_b1']:.3f} | {ratio(o['latency_ms_b1'], t['latency_ms_b1'])} | "
                     f"{p.get('latency_ms_b1', 0):.3f} | {ratio(o['latency_ms_b1'], p.get('latency_ms_b1'))} |")
        lines.append(f"| {kind} | peak memory MB while training (lower is better) | "
                     f"{o['rss_mb'] or 0:.0f} | {t['rss_mb'] or 0:.0f} | {ratio(o['rss_mb'], t['rss_mb'])} | | |")
        lines.append(f"| {kind} | compile seconds (cold cache) | {o['compile_s']:.1f} | | | | |")
        lines.append(f"| {kind} | training GFLOP/s (share of the {PEAK:.0f} GFLOP/s peak) | "
                     f"{o['train_gflops']:.1f} ({100 * o['train_gflops'] / PEAK:.0f}%) | | | | |")
    if ort is None:
        lines += ["", "ONNX Runtime: not installed (run with --install-peers)."]
    text = "\n".join(lines) + "\n"
    with open(a.out + ".tmp", "w") as f:
        f.write(text)
    os.replace(a.out + ".tmp", a.out)
    print(text)


if __name__ == "__main__":
    main()
