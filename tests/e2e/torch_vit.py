#!/usr/bin/env python3
"""examples/vit.nn against a PyTorch twin built from torch.nn modules.

1. Parameter count: `netc check examples/vit.nn` prints the same number of
   trainable parameters as the twin (nn.Linear, nn.LayerNorm, a learned
   position table).
2. The written-out attention of the twin (the same reshapes and transposes as
   vit.nn's `attention` block) equals nn.MultiheadAttention with the weights
   mapped (in_proj = q, k, v weights stacked; out_proj = the fourth dense), so
   the cross-check below compares netc with PyTorch's own attention.
3. Float64 cross-check: netc's reference interpreter runs STEPS steps of the
   example's own optimizer (adam or adamw, with its lr and weight decay) and
   loss (with its label smoothing) on random batches and exports the
   initial weights, the batches, the first gradients and the final weights
   (`netc run MODEL train --random-init ... --export DIR`, as torch_zoo.py
   does). The twin, from the same weights on the same batches, must give the
   same loss at every step, the same first gradients and the same final
   weights to TOL relative.

Usage: torch_vit.py NETC SOURCE_DIR. Exits 77 (skipped) where torch cannot be imported.
"""
import os
import re
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIPPED: the vit cross-check needs python3-torch ({e})")
    sys.exit(77)

STEPS, BATCH, SEED = 20, 3, 5
D, HEADS, T, MLP = 64, 4, 16, 128
DH = D // HEADS
# Both sides compute in float64, so only rounding remains; 1e-10 leaves room
# for that and none for a wrong gradient or update (1e-3 or more).
TOL = 1e-10


class Attention(nn.Module):
    """vit.nn's `attention`: dense1..3 are q, k (no bias), v; dense4 the output projection."""

    def __init__(self):
        super().__init__()
        self.dense1, self.dense3, self.dense4 = (nn.Linear(D, D) for _ in range(3))
        self.dense2 = nn.Linear(D, D, bias=False)  # no key bias, as in vit.nn

    def forward(self, x):
        b = x.shape[0]
        q = self.dense1(x).reshape(b, T, HEADS, DH).permute(0, 2, 1, 3)
        k = self.dense2(x).reshape(b, T, HEADS, DH).permute(0, 2, 3, 1)
        v = self.dense3(x).reshape(b, T, HEADS, DH).permute(0, 2, 1, 3)
        a = torch.softmax(torch.matmul(q, k) * (1 / DH**0.5), dim=-1)
        o = torch.matmul(a, v).permute(0, 2, 1, 3).reshape(b, T, D)
        return self.dense4(o)

    def as_multihead(self):
        """The same weights in nn.MultiheadAttention."""
        m = nn.MultiheadAttention(D, HEADS, batch_first=True).to(self.dense1.weight.dtype)
        with torch.no_grad():
            m.in_proj_weight.copy_(
                torch.cat([self.dense1.weight, self.dense2.weight, self.dense3.weight]))
            m.in_proj_bias.copy_(
                torch.cat([self.dense1.bias, torch.zeros_like(self.dense1.bias), self.dense3.bias]))
            m.out_proj.weight.copy_(self.dense4.weight)
            m.out_proj.bias.copy_(self.dense4.bias)
        return m


class Block(nn.Module):
    """vit.nn's `block`: pre-norm attention and GELU MLP, both residual."""

    def __init__(self):
        super().__init__()
        self.ln1, self.attention1, self.ln2 = nn.LayerNorm(D), Attention(), nn.LayerNorm(D)
        self.dense1, self.dense2 = nn.Linear(D, MLP), nn.Linear(MLP, D)

    def forward(self, x):
        h = x + self.attention1(self.ln1(x))
        return h + self.dense2(F.gelu(self.dense1(self.ln2(h))))


class ViT(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(T, D) * 0.02)
        self.dense1 = nn.Linear(49, D)
        # as many blocks as vit.nn calls (block1, block2, ...)
        self.blocks = [f"block{i + 1}" for i in range(blocks)]
        for name in self.blocks:
            setattr(self, name, Block())
        self.ln1 = nn.LayerNorm(D)
        self.dense2 = nn.Linear(D, 10)

    def forward(self, x):
        b = x.shape[0]
        # [b, 1, 28, 28] -> [b, 4, 7, 4, 7] -> [b, 4, 4, 7, 7] -> [b, 16, 49]
        p = x.reshape(b, 4, 7, 4, 7).permute(0, 1, 3, 2, 4).reshape(b, T, 49)
        h = self.dense1(p) + self.pos
        for name in self.blocks:
            h = getattr(self, name)(h)
        return self.dense2(self.ln1(h).mean(dim=1))

    def netc_params(self):
        """netc name -> (torch parameter, transposed): nn.Linear's weight is
        [out, in], netc's dense W is [in, out]."""
        out = {}
        for name, p in self.named_parameters():
            layer, _, kind = name.rpartition(".")
            last = layer.rpartition(".")[2]
            if name == "pos":
                out[name] = (p, False)
            elif last.startswith("ln"):
                out[layer + (".gamma" if kind == "weight" else ".beta")] = (p, False)
            else:
                out[layer + (".W" if kind == "weight" else ".b")] = (p, kind == "weight")
        return out


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def count_blocks(model_path):
    """The number of top-level `h = block(h)` lines of vit.nn."""
    with open(model_path) as f:
        return sum(1 for line in f if re.match(r"^h = block\(h\)", line))


def check_count(netc, model_path):
    out = subprocess.run([netc, "check", model_path], check=True, capture_output=True,
                         text=True).stdout
    m = re.search(r"^([0-9,]+) trainable parameters", out, re.M)
    if not m:
        return [f"netc check printed no parameter count:\n{out}"]
    ours = int(m.group(1).replace(",", ""))
    blocks = count_blocks(model_path)
    if blocks == 0:
        return [f"{model_path} has no `h = block(h)` line: the twin cannot follow it"]
    theirs = sum(p.numel() for p in ViT(blocks).parameters() if p.requires_grad)
    print(f"vit ({blocks} blocks): netc check {ours:,d} parameters, torch twin {theirs:,d}")
    return [] if ours == theirs else [f"{ours} parameters in netc, {theirs} in torch"]


def check_attention_is_multihead():
    att = Attention().double()
    x = torch.randn(2, T, D, dtype=torch.float64)
    ours = att(x)
    theirs, _ = att.as_multihead()(x, x, x, need_weights=False)
    e = rel_err(ours.detach().numpy(), theirs.detach().numpy())
    print(f"vit: written-out attention vs nn.MultiheadAttention rel {e:.1e}")
    return [] if e <= TOL else [f"attention differs from nn.MultiheadAttention: rel {e:.2e}"]


def crosscheck(netc, model_path, out):
    subprocess.run([netc, "run", model_path, "train", "--random-init", "--steps", str(STEPS),
                    "--batch", str(BATCH), "--seed", str(SEED), "--export", out], check=True,
                   stdout=subprocess.DEVNULL)
    load = lambda *p: np.load(os.path.join(out, *p)).astype(np.float64)
    model = ViT(count_blocks(model_path)).double()
    params = model.netc_params()
    names = sorted(f[:-4] for f in os.listdir(os.path.join(out, "grads")))
    if sorted(params) != names:
        return [f"parameter names differ: netc {names}, torch {sorted(params)}"]
    with torch.no_grad():
        for n, (p, transposed) in params.items():
            v = load("init", n + ".npy")
            p.copy_(torch.from_numpy(v.T if transposed else v))
    # vit.nn's own optimizer; lr_decay is per epoch and random batches have no
    # epochs, so the rate stays at the train block's lr.
    with open(model_path) as f:
        text = f.read()
    m = re.search(r"optimizer\s*=\s*(adamw?)\(lr=([0-9.e-]+)(?:,\s*weight_decay=([0-9.e-]+))?\)",
                  text)
    lr, wd = float(m.group(2)), float(m.group(3) or 0)
    opt = (torch.optim.AdamW if m.group(1) == "adamw" else torch.optim.Adam)(
        model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    smoothing = re.search(r"label_smoothing=([0-9.e-]+)", text)
    smoothing = float(smoothing.group(1)) if smoothing else 0.0
    losses = np.load(os.path.join(out, "losses.npy"))
    failures, worst = [], {"loss": 0.0, "gradient": 0.0, "weights": 0.0}

    def compare(kind, what, ours, theirs):
        e = rel_err(ours, theirs)
        worst[kind] = max(worst[kind], e)
        if not e <= TOL:
            failures.append(f"{what}: rel {e:.2e}")

    for k in range(STEPS):
        x = torch.from_numpy(load(f"batch{k}", "x.npy"))
        y = torch.from_numpy(load(f"batch{k}", "y.npy")).long()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y, label_smoothing=smoothing)
        loss.backward()
        compare("loss", f"loss at step {k + 1}", losses[k], loss.item())
        if k == 0:
            for n, (p, transposed) in params.items():
                g = p.grad.detach().numpy()
                compare("gradient", f"gradient of {n}", load("grads", n + ".npy"),
                        g.T if transposed else g)
        opt.step()
    for n, (p, transposed) in params.items():
        w = p.detach().numpy()
        compare("weights", f"weights of {n} after {STEPS} steps", load("final", n + ".npy"),
                w.T if transposed else w)
    # Adam moves every weight by about lr a step: a run whose weights did not
    # move would agree trivially.
    moved = max(rel_err(load("final", n + ".npy"), load("init", n + ".npy")) for n in params)
    if not moved > 1e-3:
        failures.append(f"the weights barely moved in {STEPS} steps (rel {moved:.1e})")
    print(f"vit: {STEPS} adam steps at batch {BATCH}: losses rel {worst['loss']:.1e}, first "
          f"gradients rel {worst['gradient']:.1e}, final weights rel {worst['weights']:.1e}")
    return failures


def main():
    netc, source = sys.argv[1], sys.argv[2]
    model_path = os.path.join(source, "examples", "vit.nn")
    torch.manual_seed(0)
    failures = check_count(netc, model_path) + check_attention_is_multihead()
    with tempfile.TemporaryDirectory() as out:
        failures += crosscheck(netc, model_path, out)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"vit.nn agrees with its torch twin to {TOL:g} relative in float64 over {STEPS} adam "
          "steps")


if __name__ == "__main__":
    main()
