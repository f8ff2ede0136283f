#!/usr/bin/python3
"""A PyTorch classifier exported with its loss: tests/onnx/models/classifier_loss.onnx
(Linear-ReLU-Linear and nn.CrossEntropyLoss, written by make_classifier_loss.py)
run by `netc onnx-test` on the inputs of classifier_loss.json, on the reference
interpreter and on the JIT-compiled kernels; the loss must be PyTorch's (the
.json's) within 1e-5 relative, both with the int64 labels bound at import
time (the composed form of the loss) and fed at run time (`--feed labels`:
the fused softmax_cross_entropy op). Also checks that `netc check` accepts
the model.

Usage: classifier_loss_test.py NETC SOURCE_DIR   (exit 77 without python3-onnx)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from onnx import numpy_helper
except ImportError as e:
    print(f"SKIPPED: {e}", file=sys.stderr)
    sys.exit(77)


def main():
    netc, source = sys.argv[1], sys.argv[2]
    models = os.path.join(source, "tests", "onnx", "models")
    with open(os.path.join(models, "classifier_loss.json")) as f:
        data = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        case = os.path.join(tmp, "classifier_loss")
        os.makedirs(os.path.join(case, "test_data_set_0"))
        shutil.copy(os.path.join(models, "classifier_loss.onnx"), os.path.join(case, "model.onnx"))
        tensors = [("input_0", "x", np.array(data["x"], dtype=np.float32)),
                   ("input_1", "labels", np.array(data["labels"], dtype=np.int64)),
                   ("output_0", "loss", np.array(data["loss"], dtype=np.float32))]
        for file, name, arr in tensors:
            with open(os.path.join(case, "test_data_set_0", file + ".pb"), "wb") as f:
                f.write(numpy_helper.from_array(arr, name).SerializeToString())
        ok = True
        # The labels bound at import time (the composed loss), then fed at run
        # time with a batch axis (the fused softmax_cross_entropy).
        for extra in ([], ["--feed", "labels", "--batch-axis"]):
            p = subprocess.run([netc, "onnx-test", "--rtol", "1e-5", "--atol", "0"] + extra +
                               [case], capture_output=True, text=True)
            line = p.stdout.strip()
            print(f"netc onnx-test {' '.join(extra)}: {line} (PyTorch's loss {data['loss']:.9g})")
            if p.returncode != 0 or '"status":"passed"' not in line:
                print(p.stderr, file=sys.stderr)
                ok = False
        q = subprocess.run([netc, "check", os.path.join(case, "model.onnx")], capture_output=True,
                           text=True)
        if q.returncode != 0:
            print(f"netc check failed:\n{q.stderr}", file=sys.stderr)
            ok = False
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
