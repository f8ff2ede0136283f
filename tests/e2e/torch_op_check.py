"""The shared half of the float64 PyTorch cross-checks of single ops
(torch_decoder_ops.py, torch_activations.py).

check_model(netc, name, spec, work, cfg) writes a small .nn model, lets netc's
reference interpreter run cfg.steps SGD steps on its own random batches and
export the initial weights, the batches, the first gradients and the final
weights (`netc run MODEL train --random-init ... --export DIR`), then replays
the same steps with the model's PyTorch forward and compares losses, first
gradients and final weights to cfg.tol relative. Each wrong variant of the
forward must miss the first loss by more than cfg.wrong_gap, so an agreement
cannot be vacuous. run_all() checks a table of models and exits 1 on any
failure.
"""
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn


@dataclass
class Config:
    steps: int
    batch: int
    seed: int
    lr: float
    tol: float
    wrong_gap: float


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def check_model(netc, name, spec, work, cfg):
    text, forward, wrong_forwards = spec
    model = os.path.join(work, "".join(c if c.isalnum() else "_" for c in name) + ".nn")
    out = model[:-3]
    with open(model, "w") as f:
        f.write(text)
    subprocess.run([netc, "run", model, "train", "--random-init", "--steps", str(cfg.steps),
                    "--batch", str(cfg.batch), "--seed", str(cfg.seed), "--export", out],
                   check=True, stdout=subprocess.DEVNULL)
    load = lambda *p: np.load(os.path.join(out, *p)).astype(np.float64)
    names = sorted(f[:-4] for f in os.listdir(os.path.join(out, "grads")))  # the params
    params = {n: torch.tensor(load("init", n + ".npy"), requires_grad=True) for n in names}
    opt = torch.optim.SGD(list(params.values()), lr=cfg.lr)
    lossf = nn.CrossEntropyLoss()
    losses = np.load(os.path.join(out, "losses.npy"))
    failures, worst = [], {"loss": 0.0, "gradient": 0.0, "weights": 0.0}

    def compare(kind, what, ours, theirs):
        e = rel_err(ours, theirs)
        worst[kind] = max(worst[kind], e)
        if not e <= cfg.tol:
            failures.append(f"{name}: {what}: rel {e:.2e}")

    def batch(k):
        x = torch.from_numpy(load(f"batch{k}", "x.npy"))
        y = torch.from_numpy(load(f"batch{k}", "y.npy")).long()
        return x, y

    x0, y0 = batch(0)
    gaps = []
    with torch.no_grad():
        for fw in wrong_forwards:
            gaps.append(rel_err(lossf(fw(params, x0), y0).item(), losses[0]))
            if not gaps[-1] > cfg.wrong_gap:
                failures.append(f"{name}: a wrong variant agrees with netc (rel {gaps[-1]:.2e}): "
                                "the model does not exercise the op")
    for k in range(cfg.steps):
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
        compare("weights", f"weights of {n} after {cfg.steps} steps", load("final", n + ".npy"),
                p.detach().numpy())
    print(f"{name:52s} losses rel {worst['loss']:.1e}  first gradients rel "
          f"{worst['gradient']:.1e}  final weights rel {worst['weights']:.1e}  (wrong variants: "
          f"{', '.join(f'{g:.1e}' for g in gaps)})")
    return failures



def run_all(netc, models, cfg, failures=None):
    failures = list(failures or [])
    with tempfile.TemporaryDirectory() as work:
        for name, spec in models.items():
            failures += check_model(netc, name, spec, work, cfg)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"netc and PyTorch agree to {cfg.tol:g} relative in float64 over {cfg.steps} SGD steps")
