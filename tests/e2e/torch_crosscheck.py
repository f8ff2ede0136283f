#!/usr/bin/env python3
"""Cross-check of netc's training step against PyTorch (Debian's python3-torch).

For examples/fmnist_mlp.nn with dropout off, netc's reference interpreter runs
20 Adam steps on its own random batches and exports the initial weights, the
batches, the first step's gradients and the final weights (`netc run ...
--export DIR`). The same model in PyTorch, from the same weights on the same
batches, must give the same loss at every step, the same gradients and the
same final weights, to 1e-5 relative. Both sides compute in float64, so a
disagreement is a difference in the math, not in rounding.

Usage: torch_crosscheck.py NETC SOURCE_DIR. Exits 77 (skipped) where torch
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
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIPPED: the PyTorch cross-check needs python3-torch ({e})")
    sys.exit(77)

STEPS, BATCH, TOL = 20, 16, 1e-5
# The dense biases right before batch norm have an exact gradient of zero (the
# normalization subtracts the batch mean, so the loss does not depend on them):
# both sides compute rounding noise of ~1e-17 there, which Adam's m/sqrt(v)
# then turns into full-size steps of random sign. Their gradients are compared
# against the scale of all gradients, and their final values are not compared;
# the losses and every other weight show that they do not affect the network.
ZERO_GRADIENT = {"dense1.b", "dense2.b"}


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def main():
    netc, source = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([netc, "run", os.path.join(source, "examples/fmnist_mlp.nn"), "train",
                        "--random-init", "--steps", str(STEPS), "--batch", str(BATCH),
                        "--seed", "3", "--set", "dropout1.keep=1", "--export", out],
                       check=True, stdout=subprocess.DEVNULL)
        load = lambda *p: np.load(os.path.join(out, *p)).astype(np.float64)
        torch.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(),
                              nn.Dropout(0.0), nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(),
                              nn.Linear(128, 10)).double()
        # netc's dense W is [in, out]; torch's Linear weight is [out, in].
        params = {"dense1.W": (model[1].weight, True), "dense1.b": (model[1].bias, False),
                  "bn1.gamma": (model[2].weight, False), "bn1.beta": (model[2].bias, False),
                  "dense2.W": (model[5].weight, True), "dense2.b": (model[5].bias, False),
                  "bn2.gamma": (model[6].weight, False), "bn2.beta": (model[6].bias, False),
                  "dense3.W": (model[8].weight, True), "dense3.b": (model[8].bias, False)}
        with torch.no_grad():
            for name, (p, transposed) in params.items():
                v = load("init", name + ".npy")
                p.copy_(torch.from_numpy(v.T if transposed else v))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        lossf = nn.CrossEntropyLoss()
        losses = np.load(os.path.join(out, "losses.npy"))
        failures = []
        model.train()
        for k in range(STEPS):
            x = torch.from_numpy(load(f"batch{k}", "x.npy"))
            y = torch.from_numpy(load(f"batch{k}", "y.npy").astype(np.int64))
            opt.zero_grad()
            loss = lossf(model(x), y)
            loss.backward()
            e = rel_err(loss.item(), losses[k])
            print(f"step {k + 1:2d}  torch loss {loss.item():.12f}  netc {losses[k]:.12f}  rel {e:.2e}")
            if e > TOL:
                failures.append(f"loss at step {k + 1}: rel {e:.2e}")
            if k == 0:
                scale = max(float(np.max(np.abs(p.grad.detach().numpy()))) for p, _ in params.values())
                for name, (p, transposed) in params.items():
                    g = p.grad.detach().numpy()
                    g = g.T if transposed else g
                    ours = load("grads", name + ".npy")
                    e = (float(np.max(np.abs(g - ours))) / scale if name in ZERO_GRADIENT
                         else rel_err(g, ours))
                    print(f"gradient {name:10s} rel {e:.2e}")
                    if e > TOL:
                        failures.append(f"gradient of {name}: rel {e:.2e}")
            opt.step()
        for name, (p, transposed) in params.items():
            if name in ZERO_GRADIENT:
                continue
            w = p.detach().numpy()
            e = rel_err(w.T if transposed else w, load("final", name + ".npy"))
            print(f"weights after {STEPS} steps {name:10s} rel {e:.2e}")
            if e > TOL:
                failures.append(f"weights of {name}: rel {e:.2e}")
        if failures:
            print("FAILED:\n  " + "\n  ".join(failures))
            sys.exit(1)
        print(f"netc and PyTorch agree to {TOL} relative over {STEPS} Adam steps")


if __name__ == "__main__":
    main()
