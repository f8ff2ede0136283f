#!/usr/bin/python3
"""PyTorch's recurrent and upsampling layers through netc's ONNX importer:
small torch.nn.LSTM, GRU (bidirectional) and RNN (relu) layers (sequence
first, as ONNX has it), a ConvTranspose2d (stride, padding, output_padding)
and nn.Upsample (scale 2, nearest and bilinear) with random weights, each
exported by torch.onnx.export (opset 14, static shapes), then imported by
`netc onnx-test --batch-axis` as `netc run` imports a model (an image's first
dimension becomes the batch; a recurrent layer's sequence-first input keeps
its length) and run on the reference interpreter and the JIT-compiled
kernels; every output (an LSTM's Y, Y_h and Y_c...) must match PyTorch's
forward within 1e-4.

Usage: recurrent_reference.py NETC   (exit 77 when torch or onnx is missing)
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import torch
    import torch.nn as nn
    from onnx import numpy_helper
except ImportError as e:
    print(f"SKIPPED: {e}", file=sys.stderr)
    sys.exit(77)


class Recurrent(nn.Module):
    """A recurrent layer's outputs as a flat tuple: y, h_n (and c_n)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        y, state = self.layer(x)
        return (y,) + (state if isinstance(state, tuple) else (state,))


def models():
    """(name, model, input, dynamic batch axis)"""
    torch.manual_seed(0)
    seq = torch.randn(4, 3, 5)  # [T, batch, features]
    image = torch.randn(2, 3, 5, 4)
    return [
        ("lstm", Recurrent(nn.LSTM(5, 4)), seq, False),
        ("gru_bidirectional", Recurrent(nn.GRU(5, 4, bidirectional=True)), seq, False),
        ("rnn_relu", Recurrent(nn.RNN(5, 4, nonlinearity="relu")), seq, False),
        # batch_first: exported as Transpose -> LSTM (sequence first) -> Transposes,
        # with the batch (a dim_param) in the middle of the LSTM's X.
        ("lstm_batch_first_bidirectional",
         Recurrent(nn.LSTM(5, 4, batch_first=True, bidirectional=True)), seq.transpose(0, 1),
         True),
        ("conv_transpose", nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
         image, True),
        ("upsample_nearest", nn.Sequential(nn.Conv2d(3, 2, 1), nn.Upsample(scale_factor=2)),
         image, False),
        ("upsample_bilinear", nn.Upsample(scale_factor=(2, 3), mode="bilinear"), image, False),
    ]


def write_case(folder, model, x, dynamic):
    model.eval()
    with torch.no_grad():
        ys = model(x)
    ys = ys if isinstance(ys, tuple) else (ys,)
    names = [f"y{i}" for i in range(len(ys))]
    os.makedirs(os.path.join(folder, "test_data_set_0"))
    axes = {"dynamic_axes": {n: {0: "batch"} for n in ["x"] + names}} if dynamic else {}
    torch.onnx.export(model, x, os.path.join(folder, "model.onnx"), opset_version=14,
                      input_names=["x"], output_names=names, **axes)
    tensors = [("input_0", x, "x")] + [(f"output_{i}", y, n) for i, (y, n) in
                                       enumerate(zip(ys, names))]
    for file, t, name in tensors:
        with open(os.path.join(folder, "test_data_set_0", file + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(t.numpy(), name).SerializeToString())


def main():
    netc = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for name, model, x, dynamic in models():
            folder = os.path.join(tmp, name)
            write_case(folder, model, x, dynamic)
            folders.append(folder)
        p = subprocess.run([netc, "onnx-test", "--batch-axis", "--rtol", "1e-4", "--atol", "1e-4"]
                           + folders,
                           capture_output=True, text=True)
        failures = 0
        lines = p.stdout.strip().splitlines()
        for line in lines:
            print(line)
            if json.loads(line)["status"] != "passed":
                failures += 1
        if len(lines) != len(folders) or p.returncode != 0:
            print(p.stderr, file=sys.stderr)
            failures = max(failures, 1)
    print("ok" if failures == 0 else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
