#!/usr/bin/env python3
"""`netc export` round trips: ONNX Runtime and netc's own importer run the
exported models to the outputs of netc's reference interpreter.

For each model below, `netc export MODEL --weights CKPT | --random-init -o
model.onnx --test-data test_data_set_0` writes the inference graph and a
test case: random inputs and the outputs of the reference interpreter on the
model as parsed (batch norm on its running statistics, not folded). Then

0. onnx.checker (full_check: with shape inference) accepts model.onnx;
1. ONNX Runtime (npm onnxruntime-node, run by ort_check.js) must reproduce
   every output to RTOL relative (plus ATOL, float32 rounding of values near 0);
2. `netc onnx-test` imports model.onnx with netc's importer and runs it on
   the reference interpreter and on compiled kernels: IMPORTER_RTOL (below)
   (the four examples and export_ops);
3. for the model trained on real data (per-channel input normalization, which
   the export includes), the compiled binary's `predict` confidences equal the
   exported outputs' top probabilities.

Weights: fmnist_mlp and fmnist_cnn from checkpoints of a few compiled
training steps (`OUT train --random-data --steps 3 --save`), so batch norm's
running statistics are not the identity; resnet and mobilenet drawn by their
initializers (--random-init), as are the other examples (ONNX Runtime
only); tests/onnx/models/export_ops.nn (every mapped op
family) trained for an epoch on random npy data, normalized per channel.

onnxruntime-node is installed with npm into NETC_ORT_CACHE (default
~/.cache/netc/onnxruntime-node) on first use; the test exits 77 (skipped)
only when node or npm is missing or the registry cannot be reached.

Usage: export_ort_test.py NETC SOURCE_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIPPED: needs python3-numpy and python3-onnx ({e})")
    sys.exit(77)

ORT_VERSION = "1.31.1"
# The bar: 1e-5 relative. ATOL covers outputs that are float32
# rounding away from 0 (probabilities of 1e-4); measured errors are 1e-7..3e-6.
RTOL, ATOL = 1e-5, 1e-7
# netc's importer runs the exported graph, whose convolutions carry batch norm
# folded into their weights, on the reference interpreter; the expected
# outputs come from the unfolded graph. The interpreter sums in f32 in order
# (3,136 terms for the cnn's dense layer), so the two roundings differ more
# than ONNX Runtime's blocked sums do: measured, a probability of 0.0859 off by
# 1.4e-5 relative, i.e. a logit (logits ~10 apart) shifted by 1.4e-5, about
# 1e-6 of its size, with the cnn's checkpoint after the vectorized exp changed
# its 3 training steps. ONNX Runtime stays held to RTOL.
IMPORTER_RTOL = 1e-4
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET",
                  "ENETUNREACH", "network")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        print(f"FAILED ({r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}")
        sys.exit(1)
    return r.stdout


def install_ort():
    cache = os.environ.get("NETC_ORT_CACHE",
                           os.path.expanduser("~/.cache/netc/onnxruntime-node"))
    module = os.path.join(cache, "node_modules", "onnxruntime-node", "package.json")
    if os.path.exists(module):
        return cache
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            print(f"SKIPPED: {tool} is not installed (ONNX Runtime comes from npm)")
            sys.exit(77)
    os.makedirs(cache, exist_ok=True)
    # The CPU runtime is in the package; its install script would fetch the
    # CUDA providers from nuget.org, which we neither need nor can reach.
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", cache,
                        f"onnxruntime-node@{ORT_VERSION}"],
                       capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        text = r.stdout + r.stderr
        if any(e in text for e in NETWORK_ERRORS):
            print(f"SKIPPED: the npm registry is unreachable:\n{text[-800:]}")
            sys.exit(77)
        print(f"FAILED: npm install onnxruntime-node@{ORT_VERSION}\n{text}")
        sys.exit(1)
    return cache


def check_case(netc, source, ort, case, label, importer=True):
    model = os.path.join(case, "model.onnx")
    data = os.path.join(case, "test_data_set_0")
    # ONNX's own checker, with its shape inference: types and shapes agree.
    onnx.checker.check_model(onnx.load(model), full_check=True)
    out = run(["node", os.path.join(source, "tests", "onnx", "ort_check.js"), ort, model, data,
               str(RTOL), str(ATOL)])
    print(f"{label}: ONNX Runtime\n  " + out.strip().replace("\n", "\n  "))
    if not importer:
        return
    out = run([netc, "onnx-test", case, "--rtol", str(IMPORTER_RTOL), "--atol", str(ATOL),
               "--batch-axis"])
    if '"status":"passed"' not in out:
        print(f"FAILED: {label}: netc onnx-test on the export: {out}")
        sys.exit(1)
    print(f"{label}: netc import + reference + compiled kernels: passed")


def main():
    netc, source = sys.argv[1], sys.argv[2]
    ort = install_ort()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        def export(model, name, *weights):
            case = os.path.join(tmp, name)
            os.makedirs(case)
            run([netc, "export", model, *weights, "-o", os.path.join(case, "model.onnx"),
                 "--test-data", os.path.join(case, "test_data_set_0"), "--batch", "4",
                 "--seed", "7"])
            return case

        # 1. Checkpoints of a few compiled training steps.
        for name in ("fmnist_mlp", "fmnist_cnn"):
            model = os.path.join(source, "examples", f"{name}.nn")
            exe, ckpt = os.path.join(tmp, name), os.path.join(tmp, f"{name}.ckpt")
            run([netc, "compile", model, "-o", exe])
            run([exe, "train", "--random-data", "--steps", "3", "--batch", "16", "--save", ckpt])
            check_case(netc, source, ort, export(model, f"{name}.case", "--weights", ckpt), name)

        # 2. The zoo, with drawn weights.
        for name in ("resnet", "mobilenet"):
            model = os.path.join(source, "examples", f"{name}.nn")
            check_case(netc, source, ort, export(model, f"{name}.case", "--random-init"), name)

        # The other examples (recurrent, inception, multi-output, shared
        # weights), drawn weights, ONNX Runtime only: every example exports.
        for name in ("lstm", "inception", "multilabel", "multitask", "siamese", "transfer"):
            model = os.path.join(source, "examples", f"{name}.nn")
            check_case(netc, source, ort, export(model, f"{name}.case", "--random-init"), name,
                       importer=False)

        # 3. Every mapped op family, trained on data normalized per channel.
        model = os.path.join(source, "tests", "onnx", "models", "export_ops.nn")
        rng = np.random.default_rng(0)
        shift = np.array([5, -1, 0, 2]).reshape(1, 4, 1, 1)
        scale = np.array([1, 2, 0.5, 3]).reshape(1, 4, 1, 1)
        x = (rng.standard_normal((64, 4, 12, 12)) * scale + shift).astype(np.float32)
        np.save(os.path.join(tmp, "x.npy"), x)
        np.save(os.path.join(tmp, "y.npy"), rng.integers(0, 5, 64).astype(np.int32))
        exe, ckpt = os.path.join(tmp, "export_ops"), os.path.join(tmp, "export_ops.ckpt")
        run([netc, "compile", model, "-o", exe])
        run([exe, "train", "--data", f"npy:{tmp}/x.npy,{tmp}/y.npy", "--save", ckpt])
        # Inputs as the data looks (not standard normal), so normalization matters.
        inputs = os.path.join(tmp, "inputs.npy")
        raw = (rng.standard_normal((5, 4, 12, 12)) * scale + shift).astype(np.float32)
        np.save(inputs, raw)
        case = export(model, "export_ops.case", "--weights", ckpt, "--inputs", inputs)
        # ONNX Runtime and netc's own importer (every op of it is mapped).
        check_case(netc, source, ort, case, "export_ops")
        probs = np.load(os.path.join(case, "test_data_set_0", "output_0.npy"))
        predict = run([exe, "predict", "--weights", ckpt, "--input", inputs])
        rows = [line.split(",") for line in predict.strip().splitlines()[1:]]
        got = np.array([float(r[2]) for r in rows])
        classes = np.array([int(r[1]) for r in rows])
        # predict prints 6 significant digits.
        if not (np.array_equal(classes, probs.argmax(1)) and
                np.allclose(got, probs.max(1), rtol=1e-5, atol=1e-6)):
            print(f"FAILED: predict {list(zip(classes, got))} != export's {probs.max(1)}")
            failures += 1
        else:
            print(f"export_ops: the compiled binary's predict agrees: {got}")
    print("PASSED" if not failures else f"{failures} FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
