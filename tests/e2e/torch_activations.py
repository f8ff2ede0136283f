#!/usr/bin/env python3
"""Cross-check of the activations and layer norm of the architectures issue
against PyTorch (python3-torch).

For small models that isolate the ops, netc's reference interpreter runs SGD
steps on its own random batches and exports the initial weights, the batches,
the first step's gradients and the final weights (`netc run MODEL train
--random-init ... --export DIR`). The same model written in PyTorch, from the
same weights on the same batches, must give the same loss at every step, the
same first gradients and the same final weights to CFG.tol relative (float64 on
both sides):

  - gelu (erf and tanh forms): nn.GELU(approximate='none' | 'tanh')
  - relu6, hard_sigmoid, hard_swish: F.relu6, F.hardsigmoid, F.hardswish, on
    pre-activations scaled by 4 so that every piece of each is reached
  - layernorm over the last axis and over the last two: F.layer_norm

So that an agreement cannot be vacuous, each model also names wrong variants
of its PyTorch forward (the other gelu form, relu for relu6, sigmoid for
hard_sigmoid, unbiased variance in layer norm); the first step's loss under
each must disagree with netc's by more than CFG.wrong_gap.

Usage: torch_activations.py NETC. Exits 77 (skipped) where torch cannot be
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
CFG = Config(steps=6, batch=3, seed=5, lr=LR, tol=1e-10, wrong_gap=1e-6)

GELU_MODEL = f"""input x : f32[batch, 7]
label y : class(3)[batch]
a = gelu(dense(x, 6, init=xavier))
b = gelu(dense(a, 5, init=xavier), approximate=tanh)
logits = dense(b, 3, init=xavier)
loss softmax_cross_entropy(logits, y)
train {{
  optimizer = sgd(lr={LR})
}}
"""


def gelu_forward(first="none", second="tanh"):
    def forward(p, x):
        a = F.gelu(x @ p["dense1.W"] + p["dense1.b"], approximate=first)
        b = F.gelu(a @ p["dense2.W"] + p["dense2.b"], approximate=second)
        return b @ p["dense3.W"] + p["dense3.b"]
    return forward


HARD_MODEL = f"""input x : f32[batch, 7]
label y : class(3)[batch]
a = relu6(4 * dense(x, 6, init=xavier))
b = hard_sigmoid(4 * dense(a, 6, init=xavier))
c = hard_swish(4 * dense(b, 5, init=xavier))
logits = dense(c, 3, init=xavier)
loss softmax_cross_entropy(logits, y)
train {{
  optimizer = sgd(lr={LR})
}}
"""


def exact_hardsigmoid(v):
    """F.hardsigmoid's formula, relu6(v + 3) / 6, with an exact gradient.

    PyTorch's hardsigmoid_backward multiplies by `scalar_t(1.0f / 6.0f)`, a
    float constant even in float64, so its gradients are 3e-8 relative off
    1/6; this form has the same values and kinks (hardtanh's backward is 0 at
    0 and 6, as Hardsigmoid's is at -3 and 3) and divides by 6 exactly.
    main() checks that its forward equals F.hardsigmoid's."""
    return F.relu6(v + 3) / 6


def hard_forward(relu6=F.relu6, hard_sigmoid=exact_hardsigmoid, hard_swish=F.hardswish):
    def forward(p, x):
        a = relu6(4 * (x @ p["dense1.W"] + p["dense1.b"]))
        b = hard_sigmoid(4 * (a @ p["dense2.W"] + p["dense2.b"]))
        c = hard_swish(4 * (b @ p["dense3.W"] + p["dense3.b"]))
        return c @ p["dense4.W"] + p["dense4.b"]
    return forward


LAYERNORM_MODEL = f"""input x : f32[batch, 3, 5]
label y : class(3)[batch]
a = layernorm(x, axes=(-2, -1))
h = tanh(dense(flatten(a), 6, init=xavier))
h = layernorm(h, eps=1e-3)
logits = dense(h, 3, init=xavier)
loss softmax_cross_entropy(logits, y)
train {{
  optimizer = sgd(lr={LR})
}}
"""


def unbiased_layer_norm(h, shape, w, b, eps):
    dims = tuple(range(-len(shape), 0))
    mean = h.mean(dim=dims, keepdim=True)
    var = h.var(dim=dims, keepdim=True, unbiased=True)
    return (h - mean) / torch.sqrt(var + eps) * w + b


def layernorm_forward(norm=F.layer_norm):
    def forward(p, x):
        a = norm(x, (3, 5), p["ln1.gamma"], p["ln1.beta"], 1e-5)
        h = torch.tanh(a.flatten(1) @ p["dense1.W"] + p["dense1.b"])
        h = norm(h, (6,), p["ln2.gamma"], p["ln2.beta"], 1e-3)
        return h @ p["dense2.W"] + p["dense2.b"]
    return forward


# name: (model text, forward, wrong forwards)
MODELS = {
    "gelu, erf and tanh forms": (
        GELU_MODEL, gelu_forward(), [gelu_forward(first="tanh"), gelu_forward(second="none")]),
    "relu6, hard_sigmoid, hard_swish": (
        HARD_MODEL, hard_forward(),
        [hard_forward(relu6=F.relu), hard_forward(hard_sigmoid=torch.sigmoid),
         hard_forward(hard_swish=F.silu)]),
    "layernorm over the last two axes and the last": (
        LAYERNORM_MODEL, layernorm_forward(), [layernorm_forward(norm=unbiased_layer_norm)]),
}


def main():
    failures = []
    v = torch.linspace(-5, 5, 1001, dtype=torch.float64)
    if not torch.equal(exact_hardsigmoid(v), F.hardsigmoid(v)):
        failures.append("relu6(v + 3) / 6 differs from F.hardsigmoid")
    run_all(sys.argv[1], MODELS, CFG, failures)


if __name__ == "__main__":
    main()
