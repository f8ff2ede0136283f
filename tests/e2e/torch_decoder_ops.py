#!/usr/bin/env python3
"""Cross-check of the decoder-side ops against PyTorch (python3-torch).

For small models that isolate one op each, netc's reference interpreter runs
SGD steps on its own random batches and exports the initial weights, the
batches, the first step's gradients and the final weights (`netc run MODEL
train --random-init ... --export DIR`). The same model written in PyTorch,
from the same weights on the same batches, must give the same loss at every
step, the same first gradients and the same final weights to CFG.tol relative
(float64 on both sides):

  - conv2d_transpose with stride 2, pad 1, output_padding 1, then one with
    dilation 2 and output_padding 1 at stride 1, and one with stride (3, 2):
    F.conv_transpose2d with weights [C_in, C_out, KH, KW] copied as they are
  - upsample nearest by 2 and bilinear by (2, 3):
    F.interpolate(scale_factor=..., mode=..., align_corners=False)

So that an agreement cannot be vacuous, each model also names wrong variants
of its PyTorch forward (a flipped kernel, align_corners=True, nearest for
bilinear); the first step's loss under each
must disagree with netc's by more than CFG.wrong_gap.

Usage: torch_decoder_ops.py NETC. Exits 77 (skipped) where torch cannot be
imported.
"""
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIPPED: the PyTorch cross-check needs python3-torch ({e})")
    sys.exit(77)

from torch_op_check import Config, run_all

LR = 0.05

# float64 on both sides: rounding differences only, hence tol; a wrong
# variant's first loss is at least wrong_gap off.
CFG = Config(steps=6, batch=3, seed=5, lr=LR, tol=1e-10, wrong_gap=1e-4)

DECONV_MODEL = f"""input x : f32[batch, 2, 3, 4]
label y : class(3)[batch]
h = tanh(conv2d_transpose(x, 3, kernel=3, stride=2, pad=1, output_padding=1))
g = tanh(conv2d_transpose(h, 3, kernel=(3, 2), dilation=2, output_padding=1))
k = conv2d_transpose(g, 2, kernel=2, stride=(3, 2), pad=(1, 0), bias=false)
logits = dense(flatten(k), 3, init=xavier)
loss softmax_cross_entropy(logits, y)
train {{
  optimizer = sgd(lr={LR})
}}
"""


def deconv_forward(flip=False):
    """flip: the kernel flipped (a correlation taken for a convolution)."""
    def weight(w):
        return w.flip(2, 3) if flip else w

    def forward(p, x):
        h = torch.tanh(F.conv_transpose2d(x, weight(p["deconv1.W"]), p["deconv1.b"], stride=2,
                                          padding=1, output_padding=1))
        g = torch.tanh(F.conv_transpose2d(h, weight(p["deconv2.W"]), p["deconv2.b"],
                                          dilation=2, output_padding=1))
        k = F.conv_transpose2d(g, weight(p["deconv3.W"]), None, stride=(3, 2), padding=(1, 0))
        return k.flatten(1) @ p["dense1.W"] + p["dense1.b"]
    return forward


UPSAMPLE_MODEL = f"""input x : f32[batch, 2, 3, 5]
label y : class(3)[batch]
h = conv2d(x, 3, kernel=3, pad=1)
a = upsample(h, 2)
b = upsample(h, (2, 3), mode=bilinear)
logits = dense(concat(flatten(a), flatten(b), axis=1), 3, init=xavier)
loss softmax_cross_entropy(logits, y)
train {{
  optimizer = sgd(lr={LR})
}}
"""


def upsample_forward(nearest_mode="nearest", bilinear_mode="bilinear", align_corners=False):
    def forward(p, x):
        h = F.conv2d(x, p["conv1.W"], p["conv1.b"], padding=1)
        a = F.interpolate(h, scale_factor=2, mode=nearest_mode)
        b = F.interpolate(h, scale_factor=(2, 3), mode=bilinear_mode,
                          align_corners=align_corners if bilinear_mode == "bilinear" else None)
        f = torch.cat([a.flatten(1), b.flatten(1)], dim=1)
        return f @ p["dense1.W"] + p["dense1.b"]
    return forward


# name: (model text, forward, wrong forwards)
MODELS = {
    "conv2d_transpose (stride, output_padding, dilation)": (
        DECONV_MODEL, deconv_forward(), [deconv_forward(flip=True)]),
    "upsample nearest and bilinear": (
        UPSAMPLE_MODEL, upsample_forward(),
        [upsample_forward(align_corners=True), upsample_forward(bilinear_mode="nearest")]),
}


def main():
    failures = []
    run_all(sys.argv[1], MODELS, CFG, failures)


if __name__ == "__main__":
    main()
