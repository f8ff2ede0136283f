#!/usr/bin/env python3
"""Cross-check of netc's optimizers against torch.optim (Debian's python3-torch).

For every optimizer form that claims PyTorch's behaviour (docs/language.md,
"Optimizers and PyTorch"), a small tanh MLP is trained for 15 steps by netc's
reference interpreter (`netc run ... --random-init --export DIR`) and by
PyTorch from the same initial weights on the same batches, both in float64.
Losses at every step and the final weights must agree to 1e-9 relative: a
disagreement is a difference in the update rule, not in rounding.

The notes' averaged momentum (`momentum(beta)`: v = beta v + (1 - beta) g) has
no torch.optim twin (torch's dampening skips the first step), so it is checked
against the formula written out here in numpy, with and without nesterov.

Usage: torch_optimizers.py NETC. Exits 77 (skipped) where torch cannot be imported.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIPPED: the PyTorch cross-check needs python3-torch ({e})")
    sys.exit(77)

STEPS, BATCH, TOL = 15, 6, 1e-9
NAMES = ["dense1.W", "dense1.b", "dense2.W", "dense2.b"]

MODEL = """model opt
input x : f32[batch, 7]
label y : class(5)[batch]
h = tanh(dense(x, 9))
logits = dense(h, 5)
output probs = softmax(logits)
loss softmax_cross_entropy(logits, y)
train {{
  optimizer = {opt}
}}
"""

# netc's optimizer form -> a torch.optim factory (params -> optimizer).
TORCH_TWINS = {
    "sgd(lr=0.2, momentum=0.9)":
        lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.9),
    "sgd(lr=0.2, momentum=0.8, nesterov=true)":
        lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.8, nesterov=True),
    "sgd(lr=0.2, momentum=0.9, weight_decay=0.05)":
        lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.9, weight_decay=0.05),
    "sgd(lr=0.3, weight_decay=0.1)":
        lambda p: torch.optim.SGD(p, lr=0.3, weight_decay=0.1),
    "rmsprop(lr=0.01, beta=0.9, eps=1e-6)":
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6),
    "rmsprop(lr=0.01, beta=0.95, weight_decay=0.02)":
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.95, eps=1e-8, weight_decay=0.02),
    "adam(lr=0.01)":
        lambda p: torch.optim.Adam(p, lr=0.01),
    "adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-7, weight_decay=0.05)":
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.05),
    "adamw(lr=0.01)":
        lambda p: torch.optim.AdamW(p, lr=0.01),
    "adamw(lr=0.02, beta1=0.85, weight_decay=0.3)":
        lambda p: torch.optim.AdamW(p, lr=0.02, betas=(0.85, 0.999), weight_decay=0.3),
}


class AveragedMomentum:
    """The notes' momentum, written out: v = beta v + (1 - beta) g."""

    def __init__(self, params, lr, beta, nesterov):
        self.params, self.lr, self.beta, self.nesterov = list(params), lr, beta, nesterov
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        for p, v in zip(self.params, self.v):
            v.mul_(self.beta).add_((1 - self.beta) * p.grad)
            d = self.beta * v + (1 - self.beta) * p.grad if self.nesterov else v
            p.sub_(self.lr * d)


FORMULA_TWINS = {
    "momentum(lr=0.3, beta=0.9)": lambda p: AveragedMomentum(p, 0.3, 0.9, False),
    "momentum(lr=0.3, beta=0.7, nesterov=true)": lambda p: AveragedMomentum(p, 0.3, 0.7, True),
}


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def check(netc, form, make_optimizer, work):
    model_file = os.path.join(work, "opt.nn")
    with open(model_file, "w") as f:
        f.write(MODEL.format(opt=form))
    out = os.path.join(work, "export")
    subprocess.run([netc, "run", model_file, "train", "--random-init", "--steps", str(STEPS),
                    "--batch", str(BATCH), "--seed", "5", "--export", out],
                   check=True, stdout=subprocess.DEVNULL)
    load = lambda *p: np.load(os.path.join(out, *p)).astype(np.float64)
    model = nn.Sequential(nn.Linear(7, 9), nn.Tanh(), nn.Linear(9, 5)).double()
    params = {"dense1.W": model[0].weight, "dense1.b": model[0].bias,
              "dense2.W": model[2].weight, "dense2.b": model[2].bias}
    # netc's dense W is [in, out]; torch's Linear weight is [out, in].
    tr = lambda name, v: v.T if name.endswith(".W") else v
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(torch.from_numpy(tr(name, load("init", name + ".npy")).copy()))
    opt = make_optimizer(model.parameters())
    lossf = nn.CrossEntropyLoss()
    losses = np.load(os.path.join(out, "losses.npy"))
    worst = 0.0
    for k in range(STEPS):
        x = torch.from_numpy(load(f"batch{k}", "x.npy"))
        y = torch.from_numpy(load(f"batch{k}", "y.npy").astype(np.int64))
        opt.zero_grad()
        loss = lossf(model(x), y)
        loss.backward()
        worst = max(worst, rel_err(loss.item(), losses[k]))
        opt.step()
    for name, p in params.items():
        worst = max(worst, rel_err(tr(name, p.detach().numpy()), load("final", name + ".npy")))
    return worst


def main():
    netc = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as work:
        for twins, judge in ((TORCH_TWINS, "torch.optim"), (FORMULA_TWINS, "formula")):
            for form, make in twins.items():
                e = check(netc, form, make, work)
                print(f"{form:68s} vs {judge:11s} worst rel {e:.2e}")
                if not e <= TOL:
                    failures.append(f"{form}: {e:.2e}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"every optimizer agrees with its PyTorch twin to {TOL} relative over {STEPS} steps")


if __name__ == "__main__":
    main()
