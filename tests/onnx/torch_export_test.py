#!/usr/bin/python3
"""PyTorch-exported models through netc: the bench's mlp and cnn twins
(../shared/bench/ref_torch.py's architectures, batch norm and dropout
included) in eval mode with random weights and random running statistics,
exported by torch.onnx.export (a dynamic batch axis, and a fixed batch of 1
as bench/export_onnx.py does), imported by netc and run on the reference
interpreter and the JIT-compiled kernels at batch 5; the outputs must match
PyTorch's forward within 1e-4. Also checks that `netc check`, `netc dump`
and `netc run` accept the .onnx files.

Usage: torch_export_test.py NETC   (exit 77 when torch or onnx is missing)
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn as nn
    from onnx import numpy_helper
except ImportError as e:
    print(f"SKIPPED: {e}", file=sys.stderr)
    sys.exit(77)


def model(kind):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(),
                             nn.Dropout(0.2), nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(),
                             nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 128),
                         nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def write_case(folder, m, x, dynamic):
    os.makedirs(os.path.join(folder, "test_data_set_0"))
    export_x = x if dynamic else x[:1]
    kwargs = {"dynamic_axes": {"x": {0: "batch"}, "logits": {0: "batch"}}} if dynamic else {}
    torch.onnx.export(m, export_x, os.path.join(folder, "model.onnx"), opset_version=13,
                      input_names=["x"], output_names=["logits"], **kwargs)
    with torch.no_grad():
        y = m(x).numpy()
    for name, arr in (("input_0", x.numpy()), ("output_0", y)):
        with open(os.path.join(folder, "test_data_set_0", name + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(arr, "x" if name == "input_0" else "logits")
                    .SerializeToString())


def main():
    netc = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("mlp", "cnn"):
            torch.manual_seed(0)
            m = model(kind)
            for layer in m:  # running statistics that are not the identity
                if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
                    layer.running_mean.uniform_(-0.5, 0.5)
                    layer.running_var.uniform_(0.5, 2.0)
                    nn.init.uniform_(layer.weight, 0.5, 1.5)
                    nn.init.uniform_(layer.bias, -0.5, 0.5)
            m.eval()
            x = torch.randn(5, 1, 28, 28)
            for dynamic in (True, False):
                folder = os.path.join(tmp, f"{kind}_{'dynamic' if dynamic else 'b1'}")
                write_case(folder, m, x, dynamic)
                onnx_file = os.path.join(folder, "model.onnx")
                p = subprocess.run([netc, "onnx-test", "--batch-axis", "--rtol", "1e-4", "--atol",
                                    "1e-4", folder], capture_output=True, text=True)
                line = p.stdout.strip()
                print(f"{kind} ({'dynamic batch' if dynamic else 'exported at batch 1'}): {line}")
                if p.returncode != 0 or '"status":"passed"' not in line:
                    print(p.stderr, file=sys.stderr)
                    failures += 1
                for args in (["check", onnx_file], ["dump", onnx_file, "--after", "all", "--mode", "infer"],
                             ["run", onnx_file, "forward", "--batch", "2"]):
                    q = subprocess.run([netc] + args, capture_output=True, text=True)
                    if q.returncode != 0:
                        print(f"netc {' '.join(args)} failed:\n{q.stderr}", file=sys.stderr)
                        failures += 1
    print("ok" if failures == 0 else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
