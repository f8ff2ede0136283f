#!/usr/bin/env python3
"""Cross-check of the recurrent layers against torch.nn.LSTM / GRU / RNN.

netc's reference interpreter runs STEPS SGD steps of a small sequence
classifier (recurrent layer, last state -> dense -> softmax cross-entropy) on
its own random batches and exports the initial weights, the batches, the first
gradients and the final weights (`netc run MODEL train --random-init ...
--export DIR`). The same model built from torch.nn modules, with the weights
copied one to one (netc stores W_ih and W_hh transposed, [in, G*H]), trained
by torch.optim.SGD on the same batches, must give the same loss at every step,
the same first gradients and the same final weights to TOL relative, in
float64 on both sides.

So that agreement is not vacuous, each model also names a wrong variant (the
gate order permuted, or the direction flipped) whose first loss must disagree
with netc's by more than WRONG_GAP.

Usage: torch_recurrent.py NETC. Exits 77 (skipped) where torch cannot be imported.
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

STEPS, BATCH, SEED, LR = 20, 6, 3, 0.5
T, FEATURES, UNITS, CLASSES = 5, 3, 4, 3
TOL = 1e-10       # float64 on both sides: rounding differences only
WRONG_GAP = 1e-4  # a wrong variant's first loss is at least this far off


def model_text(layer_call):
    return f"""input x : f32[batch, {T}, {FEATURES}]
label y : class({CLASSES})[batch]
h = {layer_call}
logits = dense(h, {CLASSES}, init=xavier)
loss softmax_cross_entropy(logits, y)
train {{
  optimizer = sgd(lr={LR})
}}
"""


# name: (layer call, torch module constructor, netc layer name, wrong variant)
MODELS = {
    "lstm": (f"lstm(x, {UNITS})", lambda: nn.LSTM(FEATURES, UNITS, batch_first=True),
             "lstm1", "swap gates"),
    "gru": (f"gru(x, {UNITS})", lambda: nn.GRU(FEATURES, UNITS, batch_first=True),
            "gru1", "swap gates"),
    "bidirectional lstm": (
        f"lstm(x, {UNITS}, bidirectional=true)",
        lambda: nn.LSTM(FEATURES, UNITS, batch_first=True, bidirectional=True),
        "lstm1", "swap directions"),
    "reversed gru": (
        f"gru(x, {UNITS}, reverse=true)", lambda: nn.GRU(FEATURES, UNITS, batch_first=True),
        "gru1", "forward"),
    "relu rnn": (f"rnn(x, {UNITS}, activation=relu)",
                 lambda: nn.RNN(FEATURES, UNITS, nonlinearity="relu", batch_first=True),
                 "rnn1", "forward"),
}

SUFFIXES = {"W_ih": "weight_ih_l0", "W_hh": "weight_hh_l0", "b_ih": "bias_ih_l0",
            "b_hh": "bias_hh_l0"}


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def torch_name(netc_name, layer):
    """lstm1.W_ih_reverse -> weight_ih_l0_reverse; None for the dense params."""
    if not netc_name.startswith(layer + "."):
        return None
    rest = netc_name[len(layer) + 1:]
    reverse = rest.endswith("_reverse")
    base = SUFFIXES[rest[:-len("_reverse")] if reverse else rest]
    return base + ("_reverse" if reverse else "")


class Classifier:
    """The torch twin: the recurrent module, its last state, a dense head."""

    def __init__(self, make, layer, reverse_input, init):
        self.rnn = make().double()
        self.layer, self.reverse_input = layer, reverse_input
        self.bidirectional = self.rnn.bidirectional
        self.head = {}
        with torch.no_grad():
            for n, v in init.items():
                tn = torch_name(n, layer)
                if tn is None:
                    self.head[n] = torch.tensor(v, requires_grad=True)
                else:
                    w = torch.tensor(v)
                    getattr(self.rnn, tn).copy_(w.T if w.dim() == 2 else w)

    def params(self):
        return list(self.rnn.parameters()) + list(self.head.values())

    def netc_view(self, n):
        """A param (or its gradient) in netc's layout, by netc's name."""
        tn = torch_name(n, self.layer)
        if tn is None:
            return self.head[n]
        p = getattr(self.rnn, tn)
        return p.T if p.dim() == 2 else p

    def logits(self, x, flip_directions=False):
        # A reversed single direction is torch's forward pass over the flipped sequence.
        _, state = self.rnn(x.flip(1) if self.reverse_input else x)
        h_n = state[0] if isinstance(state, tuple) else state  # [directions, batch, H]
        parts = list(h_n)
        if flip_directions:
            parts.reverse()
        h = torch.cat(parts, dim=1)
        return h @ self.head["dense1.W"] + self.head["dense1.b"]


def swapped_gates(model, x):
    """The first loss with the first two gate blocks swapped (i<->f, r<->z)."""
    saved = {n: p.detach().clone() for n, p in model.rnn.named_parameters()}
    with torch.no_grad():
        for p in model.rnn.parameters():
            h = UNITS
            p.copy_(torch.cat([p[h:2 * h], p[:h], p[2 * h:]]))
        z = model.logits(x)
        for n, p in model.rnn.named_parameters():
            p.copy_(saved[n])
    return z


def check_model(netc, name, spec, work):
    call, make, layer, wrong = spec
    model_path = os.path.join(work, name.replace(" ", "_") + ".nn")
    out = model_path[:-3]
    with open(model_path, "w") as f:
        f.write(model_text(call))
    subprocess.run([netc, "run", model_path, "train", "--random-init", "--steps", str(STEPS),
                    "--batch", str(BATCH), "--seed", str(SEED), "--export", out],
                   check=True, stdout=subprocess.DEVNULL)
    load = lambda *p: np.load(os.path.join(out, *p)).astype(np.float64)
    names = sorted(f[:-4] for f in os.listdir(os.path.join(out, "grads")))
    init = {n: load("init", n + ".npy") for n in names}
    reverse_input = "reverse=true" in call
    m = Classifier(make, layer, reverse_input, init)
    n_torch = sum(p.numel() for p in m.params())
    n_netc = sum(v.size for v in init.values())
    failures = []
    if n_torch != n_netc:
        failures.append(f"{name}: {n_netc} parameters in netc, {n_torch} in torch")
    opt = torch.optim.SGD(m.params(), lr=LR)
    losses = np.load(os.path.join(out, "losses.npy"))
    worst = {"loss": 0.0, "gradient": 0.0, "weights": 0.0}

    def compare(kind, what, ours, theirs):
        e = rel_err(ours, theirs)
        worst[kind] = max(worst[kind], e)
        if not e <= TOL:
            failures.append(f"{name}: {what}: rel {e:.2e}")

    def batch(k):
        x = torch.from_numpy(load(f"batch{k}", "x.npy"))
        y = torch.from_numpy(load(f"batch{k}", "y.npy")).long()
        return x, y

    x0, y0 = batch(0)
    with torch.no_grad():
        if wrong == "swap gates":
            z = swapped_gates(m, x0)
        elif wrong == "swap directions":
            z = m.logits(x0, flip_directions=True)
        else:  # the other time order
            m.reverse_input = not m.reverse_input
            z = m.logits(x0)
            m.reverse_input = not m.reverse_input
        gap = rel_err(F.cross_entropy(z, y0).item(), losses[0])
    if not gap > WRONG_GAP:
        failures.append(f"{name}: the wrong variant ({wrong}) agrees with netc (rel {gap:.2e})")
    for k in range(STEPS):
        x, y = batch(k)
        opt.zero_grad()
        loss = F.cross_entropy(m.logits(x), y)
        loss.backward()
        compare("loss", f"loss at step {k + 1}", losses[k], loss.item())
        if k == 0:
            for n in names:
                compare("gradient", f"gradient of {n}", load("grads", n + ".npy"),
                        grad_view(m, n))
        opt.step()
    with torch.no_grad():
        for n in names:
            compare("weights", f"weights of {n} after {STEPS} steps", load("final", n + ".npy"),
                    m.netc_view(n).detach().numpy())
    print(f"{name:20s} {n_netc:4d} params  losses rel {worst['loss']:.1e}  first gradients rel "
          f"{worst['gradient']:.1e}  final weights rel {worst['weights']:.1e}  "
          f"(wrong variant '{wrong}': {gap:.1e})")
    return failures


def grad_view(m, n):
    tn = torch_name(n, m.layer)
    if tn is None:
        return m.head[n].grad.detach().numpy()
    g = getattr(m.rnn, tn).grad.detach()
    return (g.T if g.dim() == 2 else g).numpy()


def main():
    netc = sys.argv[1]
    torch.manual_seed(0)
    failures = []
    with tempfile.TemporaryDirectory() as work:
        for name, spec in MODELS.items():
            failures += check_model(netc, name, spec, work)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"netc and torch.nn recurrent layers agree to {TOL:g} relative in float64 over "
          f"{STEPS} SGD steps")


if __name__ == "__main__":
    main()
