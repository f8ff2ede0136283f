#!/usr/bin/python3
"""The model zoo's PyTorch twins through ONNX, netc against ONNX Runtime.

The twins of examples/resnet.nn, inception.nn, mobilenet.nn
(tests/e2e/torch_zoo.py), lstm.nn (nn.LSTM(28, 128, batch_first=True), its
last hidden state h_n[-1] into nn.Linear(128, 10)) and vit.nn
(tests/e2e/torch_vit.py: LayerNorm, written-out multi-head attention, GELU in
its erf form) are built in eval mode with fixed random weights; batch norm
gets random running statistics and affine parameters, so it is not the
identity, and is exported as BatchNormalization (not folded by PyTorch). Each
twin is exported by torch.onnx.export at opset 17 with a dynamic batch axis
and run on the same random inputs at batch 1 and 3 by

1. ONNX Runtime (npm onnxruntime-node, through ort_run.js; installed on first
   use as export_ort_test.py does), whose outputs become the expected outputs
   of an ONNX backend test case (sanity: they also match PyTorch's forward);
2. `netc onnx-test --batch-axis`: netc's importer, reference interpreter and
   JIT-compiled kernels, which must match ONNX Runtime elementwise within
   |netc - ort| <= RTOL |ort| + ATOL.

Usage: zoo_export_test.py NETC SOURCE_DIR [--perturb] [--rtol X] [--atol Y]
  --perturb   moves one expected output element of each twin (batch 3) by
              1e-3 relative plus 1e-3, to show that the comparison fails (the
              test must then exit 1).
  --rtol/--atol  other tolerances for netc vs ONNX Runtime (to measure how
              closely they agree; the test's bar is 1e-4 and 1e-4).
Exits 77 (skipped) when torch/onnx, node or the npm registry are missing.
"""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

try:
    import numpy as np
    import torch
    import torch.nn as nn
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIPPED: needs python3-torch, python3-onnx and python3-numpy ({e})")
    sys.exit(77)

# The bar for PyTorch-exported models: 1e-4 (float32 kernels in a
# different order than ONNX Runtime's, through up to 13 layers).
RTOL, ATOL = 1e-4, 1e-4
BATCHES = (1, 3)


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LSTMNet(nn.Module):
    """examples/lstm.nn: one LSTM layer of 128 over the 28 rows, dense on h_n[-1]."""

    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTM(28, 128, batch_first=True)
        self.dense1 = nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm1(x)
        return self.dense1(h[-1])  # a Gather on the LSTM's runtime Y_h


def twins(source):
    zoo = load(os.path.join(source, "tests", "e2e", "torch_zoo.py"), "torch_zoo")
    vit = load(os.path.join(source, "tests", "e2e", "torch_vit.py"), "torch_vit")
    image = (1, 28, 28)
    return {
        "resnet": (zoo.ResNet, image),
        "inception": (zoo.inception_net, image),
        "mobilenet": (zoo.mobilenet, image),
        "lstm": (LSTMNet, (28, 28)),
        # vit.nn's two blocks (torch_vit.py counts them from the example)
        "vit": (lambda: vit.ViT(vit.count_blocks(os.path.join(source, "examples", "vit.nn"))),
                image),
    }


def randomize_batch_norm(m):
    for layer in m.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(layer.weight, 0.5, 1.5)
            nn.init.uniform_(layer.bias, -0.5, 0.5)


def install_ort(source):
    # export_ort_test.py's installer: npm into NETC_ORT_CACHE on first use,
    # exit 77 when node/npm are missing or the registry cannot be reached.
    return load(os.path.join(source, "tests", "onnx", "export_ort_test.py"),
                "export_ort_test").install_ort()


def write_pb(path, arr, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name)
                .SerializeToString())


def close(got, want):
    return bool(np.all(np.abs(got - want) <= RTOL * np.abs(want) + ATOL))


def prepare_twin(source, ort, tmp, name, make, shape, perturb):
    """Exports one twin and writes its test case with ONNX Runtime's outputs
    as the expected ones. Returns (case dir, failures)."""
    torch.manual_seed(0)
    m = make()
    randomize_batch_norm(m)
    m.eval()
    case = os.path.join(tmp, name)
    os.makedirs(case)
    model = os.path.join(case, "model.onnx")
    # PRESERVE (of a model in eval mode) keeps batch norm as BatchNormalization
    # nodes on the running statistics, for netc to import and fold itself;
    # the default (EVAL) would fold it into the Conv weights in PyTorch.
    torch.onnx.export(m, torch.randn(2, *shape), model, opset_version=17,
                      training=torch.onnx.TrainingMode.PRESERVE, input_names=["x"],
                      output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    sets, torch_out = [], {}
    for k, b in enumerate(BATCHES):
        d = os.path.join(case, f"test_data_set_{k}")
        os.makedirs(d)
        x = torch.randn(b, *shape)
        np.save(os.path.join(d, "input_0.npy"), x.numpy())
        write_pb(os.path.join(d, "input_0.pb"), x.numpy(), "x")
        with torch.no_grad():
            torch_out[d] = m(x).numpy()
        sets.append(d)
    r = subprocess.run(["node", os.path.join(source, "tests", "onnx", "ort_run.js"), ort, model,
                        *sets], capture_output=True, text=True)
    if r.returncode != 0:
        return case, [f"{name}: ONNX Runtime failed: {r.stdout}{r.stderr}"]
    failures, worst = [], 0.0
    for k, d in enumerate(sets):
        y = np.load(os.path.join(d, "ort_output_0.npy"))
        if y.shape != torch_out[d].shape or not close(y, torch_out[d]):
            failures.append(f"{name}: ONNX Runtime disagrees with PyTorch at batch {BATCHES[k]}")
        else:
            worst = max(worst, float(np.max(np.abs(y - torch_out[d]))))
        if perturb and k == len(sets) - 1:  # one element of batch 3 off by 1e-3 (+ 1e-3)
            y = y.copy()
            y.flat[y.size // 2] = y.flat[y.size // 2] * (1 + 1e-3) + 1e-3
        write_pb(os.path.join(d, "output_0.pb"), y, "logits")
    print(f"{name}: exported; ONNX Runtime vs PyTorch max abs difference {worst:.1e}")
    return case, failures


def run_netc(netc, name, case, rtol, atol):
    """netc's importer, reference interpreter and JIT kernels on the case."""
    start = time.monotonic()
    r = subprocess.run([netc, "onnx-test", "--batch-axis", "--rtol", str(rtol), "--atol",
                        str(atol), case], capture_output=True, text=True)
    line = r.stdout.strip()
    ok = r.returncode == 0 and '"status":"passed"' in line
    print(f"{name}: netc onnx-test (reference + compiled) vs ONNX Runtime at batch "
          f"{' and '.join(map(str, BATCHES))}: {'passed' if ok else 'FAILED'} "
          f"({time.monotonic() - start:.1f} s)", flush=True)
    return [] if ok else [f"{name}: netc onnx-test against ONNX Runtime: {line}\n{r.stderr}"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("netc")
    ap.add_argument("source")
    ap.add_argument("--perturb", action="store_true")
    ap.add_argument("--rtol", type=float, default=RTOL)
    ap.add_argument("--atol", type=float, default=ATOL)
    args = ap.parse_args()
    netc, source, perturb = args.netc, args.source, args.perturb
    ort = install_ort(source)
    failures, cases = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (make, shape) in twins(source).items():
            cases[name], f = prepare_twin(source, ort, tmp, name, make, shape, perturb)
            failures += f
        sys.stdout.flush()
        # JIT compilation dominates (lstm's 28 unrolled steps most): two
        # onnx-test processes at a time, for the two cores a ctest gets.
        with ThreadPoolExecutor(max_workers=2) as pool:
            jobs = [pool.submit(run_netc, netc, name, case, args.rtol, args.atol)
                    for name, case in cases.items()]
            for job in jobs:
                failures += job.result()
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"ok: {len(cases)} twins, netc agrees with ONNX Runtime within rtol {args.rtol} "
          f"+ atol {args.atol}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
