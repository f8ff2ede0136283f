#!/usr/bin/env python3
"""Cross-check of the loss and pooling options against PyTorch (python3-torch).

For small models that isolate one piece of math each, netc's reference
interpreter runs SGD steps on its own random batches and exports the initial
weights, the batches, the first step's gradients and the final weights
(`netc run MODEL train --random-init ... --export DIR`). The same model written
in PyTorch, from the same weights on the same batches, must give the same loss
at every step, the same first gradients and the same final weights to TOL
relative. Both sides compute in float64 and plain SGD adds no arithmetic of
its own, so what is compared is the loss and pooling math:

  - softmax_cross_entropy with label_smoothing and class weights, with
    weights alone, and with smoothing alone:
    nn.CrossEntropyLoss(weight=w, label_smoothing=s)
  - avgpool with padding, count_include_pad=1 and the default 0:
    nn.AvgPool2d(k, s, p, count_include_pad=True / False)
  - sigmoid_cross_entropy, a mean over every element: nn.BCEWithLogitsLoss()

So that an agreement cannot be vacuous, each model also names a wrong variant
of its PyTorch loss (the option ignored, or the other mean); the first step's
loss under that variant must disagree with netc's by more than WRONG_GAP.

Usage: torch_loss_options.py NETC SOURCE_DIR. Exits 77 (skipped) where torch
cannot be imported.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIPPED: the PyTorch cross-check needs python3-torch ({e})")
    sys.exit(77)

STEPS, BATCH, SEED, LR = 8, 13, 5, 0.3
TOL = 1e-10       # float64 on both sides: rounding differences only
WRONG_GAP = 1e-4  # a wrong variant's first loss is at least this far off

WEIGHTS = [0.5, 2.0, 1.0, 0.25]
SMOOTHING = 0.2


def dense_model(loss_args):
    return f"""input x : f32[batch, 6]
label y : class(4)[batch]
h = tanh(dense(x, 8, init=xavier))
logits = dense(h, 4, init=xavier)
loss softmax_cross_entropy(logits, y{loss_args})
train {{
  optimizer = sgd(lr={LR})
}}
"""


def dense_forward(p, x):
    h = torch.tanh(x @ p["dense1.W"] + p["dense1.b"])
    return h @ p["dense2.W"] + p["dense2.b"]


def class_labels(y):
    return y.long()


POOL_MODEL = f"""input x : f32[batch, 2, 7, 6]
label y : class(3)[batch]
h = conv2d(x, 3, kernel=3, pad=1)
a = avgpool(h, kernel=3, stride=2, pad=1, count_include_pad=true)
b = avgpool(h, kernel=(3, 2), stride=(2, 1), pad=1)
logits = dense(concat(flatten(a), flatten(b), axis=1), 3, init=xavier)
loss softmax_cross_entropy(logits, y)
train {{
  optimizer = sgd(lr={LR})
}}
"""


def pool_forward(include_a, include_b):
    def forward(p, x):
        h = F.conv2d(x, p["conv1.W"], p["conv1.b"], padding=1)
        a = F.avg_pool2d(h, 3, 2, 1, count_include_pad=include_a)
        b = F.avg_pool2d(h, (3, 2), (2, 1), 1, count_include_pad=include_b)
        f = torch.cat([a.flatten(1), b.flatten(1)], dim=1)
        return f @ p["dense1.W"] + p["dense1.b"]
    return forward


SIGMOID_MODEL = f"""input x : f32[batch, 5]
label t : f32[batch, 3]
logits = dense(x, 3, init=xavier)
loss sigmoid_cross_entropy(logits, t)
train {{
  optimizer = sgd(lr={LR})
}}
"""


def sigmoid_forward(p, x):
    return x @ p["dense1.W"] + p["dense1.b"]


def bce_per_row(logits, t):
    """The wrong mean: the sum over the labels, averaged over the rows only."""
    return F.binary_cross_entropy_with_logits(logits, t, reduction="sum") / logits.shape[0]


W = torch.tensor(WEIGHTS, dtype=torch.float64)
# name: (model text, data input, label input, label conversion, forward,
#        the PyTorch loss, a wrong variant of it)
MODELS = {
    "smoothing and weights": (
        dense_model(f", label_smoothing={SMOOTHING}, weights=({', '.join(map(str, WEIGHTS))})"),
        "x", "y", class_labels, dense_forward,
        nn.CrossEntropyLoss(weight=W, label_smoothing=SMOOTHING),
        nn.CrossEntropyLoss(label_smoothing=SMOOTHING)),
    "weights": (
        dense_model(f", weights=({', '.join(map(str, WEIGHTS))})"),
        "x", "y", class_labels, dense_forward,
        nn.CrossEntropyLoss(weight=W),
        # The weighted sum over N instead of over sum_r w[y_r].
        lambda z, y: (W[y] * F.cross_entropy(z, y, reduction="none")).mean()),
    "smoothing": (
        dense_model(f", label_smoothing={SMOOTHING}"),
        "x", "y", class_labels, dense_forward,
        nn.CrossEntropyLoss(label_smoothing=SMOOTHING),
        nn.CrossEntropyLoss()),
    "avgpool count_include_pad=1 and =0": (
        POOL_MODEL, "x", "y", class_labels, pool_forward(True, False),
        nn.CrossEntropyLoss(), None),
    "sigmoid_cross_entropy": (
        SIGMOID_MODEL, "x", "t", lambda t: t, sigmoid_forward,
        nn.BCEWithLogitsLoss(), bce_per_row),
}
# The pool model's wrong variants swap count_include_pad on either pool.
WRONG_FORWARDS = {"avgpool count_include_pad=1 and =0": [pool_forward(False, False),
                                                         pool_forward(True, True)]}


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def check_model(netc, name, spec, work):
    text, x_name, y_name, convert, forward, lossf, wrong_loss = spec
    model = os.path.join(work, name.replace(" ", "_").replace("=", "") + ".nn")
    out = model[:-3]
    with open(model, "w") as f:
        f.write(text)
    subprocess.run([netc, "run", model, "train", "--random-init", "--steps", str(STEPS),
                    "--batch", str(BATCH), "--seed", str(SEED), "--export", out],
                   check=True, stdout=subprocess.DEVNULL)
    load = lambda *p: np.load(os.path.join(out, *p)).astype(np.float64)
    names = sorted(f[:-4] for f in os.listdir(os.path.join(out, "grads")))  # the params
    params = {n: torch.tensor(load("init", n + ".npy"), requires_grad=True) for n in names}
    opt = torch.optim.SGD(list(params.values()), lr=LR)
    losses = np.load(os.path.join(out, "losses.npy"))
    failures, worst = [], {"loss": 0.0, "gradient": 0.0, "weights": 0.0}

    def compare(kind, what, ours, theirs):
        e = rel_err(ours, theirs)
        worst[kind] = max(worst[kind], e)
        if not e <= TOL:
            failures.append(f"{name}: {what}: rel {e:.2e}")

    def batch(k):
        x = torch.from_numpy(load(f"batch{k}", x_name + ".npy"))
        y = convert(torch.from_numpy(load(f"batch{k}", y_name + ".npy")))
        return x, y

    # The wrong variants must be far from netc: the options matter here.
    x0, y0 = batch(0)
    wrongs = [(forward, wrong_loss)] if wrong_loss else []
    wrongs += [(fw, lossf) for fw in WRONG_FORWARDS.get(name, [])]
    gaps = []
    with torch.no_grad():
        for fw, lf in wrongs:
            gaps.append(rel_err(lf(fw(params, x0), y0).item(), losses[0]))
            if not gaps[-1] > WRONG_GAP:
                failures.append(f"{name}: a wrong variant agrees with netc (rel {gaps[-1]:.2e}): "
                                "the model does not exercise its option")
    for k in range(STEPS):
        x, y = batch(k)
        opt.zero_grad()
        loss = lossf(forward(params, x), y)
        loss.backward()
        compare("loss", f"loss at step {k + 1}", losses[k], loss.item())
        if k == 0:
            for n, p in params.items():
                compare("gradient", f"gradient of {n}", load("grads", n + ".npy"),
                        p.grad.detach().numpy())
        opt.step()
    for n, p in params.items():
        compare("weights", f"weights of {n} after {STEPS} steps", load("final", n + ".npy"),
                p.detach().numpy())
    print(f"{name:36s} losses rel {worst['loss']:.1e}  first gradients rel "
          f"{worst['gradient']:.1e}  final weights rel {worst['weights']:.1e}  (wrong variants: "
          f"{', '.join(f'{g:.1e}' for g in gaps)})")
    return failures


def main():
    netc = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as work:
        for name, spec in MODELS.items():
            failures += check_model(netc, name, spec, work)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"netc and PyTorch agree to {TOL:g} relative in float64 over {STEPS} SGD steps")


if __name__ == "__main__":
    main()
