#!/usr/bin/env python3
"""The model zoo (examples/resnet.nn, inception.nn, mobilenet.nn) against PyTorch twins.

1. Parameter counts: each example's trainable parameters, as `netc check`
   prints them, equal those of the same architecture built from torch.nn
   modules (the twins below).
2. ResNet cross-check in float64: netc's reference interpreter runs STEPS steps
   of the example's own optimizer (adam, its lr read from the file) on its random batches and
   exports the initial weights, the batches, the first gradients and the final
   weights (`netc run MODEL train --random-init ... --export DIR`, the
   mechanism of torch_crosscheck.py and torch_recurrent.py). The torch twin,
   from the same weights on the same batches, must give the same loss at every
   step, the same first gradients and the same final weights to TOL relative.
   Batch BATCH keeps the double-precision interpreter fast; batch norm still
   normalizes over BATCH x H x W values per channel.

Usage: torch_zoo.py NETC SOURCE_DIR. Exits 77 (skipped) where torch cannot be imported.
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
    print(f"SKIPPED: the model zoo cross-check needs python3-torch ({e})")
    sys.exit(77)

STEPS, BATCH, SEED = 20, 2, 3
# Both sides compute in float64, so only rounding remains (measured: losses
# 6e-16, first gradients 6e-15, final weights 2e-13 relative); 1e-10 leaves
# room for that and none for a wrong gradient or update (1e-3 or more).
TOL = 1e-10


def conv_bn(cin, cout, k, stride=1, groups=1):
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout)]


class Basic(nn.Module):
    """resnet.nn's `basic`: two 3x3 conv + bn, identity shortcut."""

    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(c, c, 3)
        self.conv2, self.bn2 = conv_bn(c, c, 3)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + x)


class Down(nn.Module):
    """resnet.nn's `down`: stride 2, projection shortcut (1x1 conv stride 2 + bn)."""

    def __init__(self, cin, c):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(cin, c, 3, stride=2)
        self.conv2, self.bn2 = conv_bn(c, c, 3)
        self.conv3, self.bn3 = conv_bn(cin, c, 1, stride=2)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.bn3(self.conv3(x)))


class ResNet(nn.Module):
    """resnet.nn: a stem, then per stage a `down` block (a `basic` one in stage 1) followed by
    `basic` blocks, named stageS.blockB as netc names them."""

    WIDTHS, BLOCKS = (16, 32, 64), 2

    def __init__(self):
        super().__init__()
        w = self.WIDTHS
        self.conv1, self.bn1 = conv_bn(1, w[0], 3)
        for s, c in enumerate(w):
            first = Basic(c) if s == 0 else Down(w[s - 1], c)
            setattr(self, f"stage{s + 1}",
                    nn.Sequential(first, *[Basic(c) for _ in range(self.BLOCKS - 1)]))
        self.dense1 = nn.Linear(w[-1], 10)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.stage3(self.stage2(self.stage1(h)))
        return self.dense1(h.mean(dim=(2, 3)))

    def netc_params(self):
        """netc name -> (torch parameter, transposed)."""
        out = {}
        for name, p in self.named_parameters():
            n = re.sub(r"^stage(\d)\.(\d+)\.",
                       lambda m: f"stage{m.group(1)}.block{int(m.group(2)) + 1}.", name)
            n = n.replace(".weight", ".W" if ("conv" in name or "dense" in name) else ".gamma")
            n = n.replace(".bias", ".b" if "dense" in name else ".beta")
            out[n] = (p, name == "dense1.weight")
        return out


class Inception(nn.Module):
    """inception.nn's `inception`: 1x1 | 1x1-3x3 | 1x1-3x3-3x3 | avgpool-1x1."""

    def __init__(self, cin, c1, r3, c3, r5, c5, cp):
        super().__init__()
        cbr = lambda a, b, k: nn.Sequential(*conv_bn(a, b, k), nn.ReLU())
        self.b1 = cbr(cin, c1, 1)
        self.b3 = nn.Sequential(cbr(cin, r3, 1), cbr(r3, c3, 3))
        self.b5 = nn.Sequential(cbr(cin, r5, 1), cbr(r5, c5, 3), cbr(c5, c5, 3))
        self.bp = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), cbr(cin, cp, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


def inception_net():
    return nn.Sequential(*conv_bn(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         Inception(32, 16, 16, 32, 8, 8, 8), Inception(64, 32, 24, 48, 8, 24, 24),
                         nn.MaxPool2d(2), Inception(128, 48, 24, 64, 12, 24, 24),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(160, 10))


def mobilenet():
    def separable(cin, cout, stride=1):
        return [*conv_bn(cin, cin, 3, stride=stride, groups=cin), nn.ReLU(),
                *conv_bn(cin, cout, 1), nn.ReLU()]

    return nn.Sequential(*conv_bn(1, 32, 3), nn.ReLU(), *separable(32, 64),
                         *separable(64, 128, 2), *separable(128, 128), *separable(128, 256, 2),
                         *separable(256, 256), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(0.2), nn.Linear(256, 10))


TWINS = {"resnet": ResNet, "inception": inception_net, "mobilenet": mobilenet}


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def netc_count(netc, path):
    out = subprocess.run([netc, "check", path], check=True, capture_output=True, text=True).stdout
    m = re.search(r"^([0-9,]+) trainable parameters", out, re.M)
    if not m:
        raise SystemExit(f"netc check {path} printed no parameter count:\n{out}")
    return int(m.group(1).replace(",", ""))


def check_counts(netc, source):
    failures = []
    for name, make in TWINS.items():
        ours = netc_count(netc, os.path.join(source, "examples", name + ".nn"))
        theirs = sum(p.numel() for p in make().parameters() if p.requires_grad)
        print(f"{name:10s} netc check {ours:8,d}  torch {theirs:8,d}")
        if ours != theirs:
            failures.append(f"{name}: {ours} parameters in netc, {theirs} in torch")
    return failures


def torch_optimizer(model, text):
    """The train block's optimizer (adam or sgd, netc's defaults) as torch's."""
    m = re.search(r"optimizer\s*=\s*(adam|sgd)\(([^)]*)\)", text)
    if not m:
        raise SystemExit("examples/resnet.nn: expected an adam(...) or sgd(...) optimizer")
    args = dict(kv.split("=") for kv in m.group(2).replace(" ", "").split(","))
    num = lambda k, d: float(args.get(k, d))
    if m.group(1) == "adam":
        return torch.optim.Adam(model.parameters(), lr=num("lr", 1e-3),
                                betas=(num("beta1", 0.9), num("beta2", 0.999)),
                                eps=num("eps", 1e-8), weight_decay=num("weight_decay", 0)), "adam"
    return torch.optim.SGD(model.parameters(), lr=num("lr", 1e-3), momentum=num("momentum", 0),
                           nesterov=args.get("nesterov") == "true",
                           weight_decay=num("weight_decay", 0)), "sgd"


def crosscheck_resnet(netc, source, out):
    subprocess.run([netc, "run", os.path.join(source, "examples/resnet.nn"), "train",
                    "--random-init", "--steps", str(STEPS), "--batch", str(BATCH), "--seed",
                    str(SEED), "--export", out], check=True, stdout=subprocess.DEVNULL)
    load = lambda *p: np.load(os.path.join(out, *p)).astype(np.float64)
    model = ResNet().double()
    params = model.netc_params()
    names = sorted(f[:-4] for f in os.listdir(os.path.join(out, "grads")))
    failures = []
    if sorted(params) != names:
        return [f"parameter names differ: netc {names}, torch {sorted(params)}"]
    with torch.no_grad():
        for n, (p, transposed) in params.items():
            v = load("init", n + ".npy")
            p.copy_(torch.from_numpy(v.T if transposed else v))
    # examples/resnet.nn's optimizer; `train --random-init --steps` keeps the
    # file's lr without its lr_decay (random batches make no run to decay over).
    with open(os.path.join(source, "examples/resnet.nn")) as f:
        opt, opt_name = torch_optimizer(model, f.read())
    losses = np.load(os.path.join(out, "losses.npy"))
    worst = {"loss": 0.0, "gradient": 0.0, "weights": 0.0}

    def compare(kind, what, ours, theirs):
        e = rel_err(ours, theirs)
        worst[kind] = max(worst[kind], e)
        if not e <= TOL:
            failures.append(f"{what}: rel {e:.2e}")

    model.train()
    for k in range(STEPS):
        x = torch.from_numpy(load(f"batch{k}", "x.npy"))
        y = torch.from_numpy(load(f"batch{k}", "y.npy")).long()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
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
    print(f"resnet: {STEPS} {opt_name} steps at batch {BATCH}: losses rel {worst['loss']:.1e}, first "
          f"gradients rel {worst['gradient']:.1e}, final weights rel {worst['weights']:.1e}")
    return failures


def main():
    netc, source = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    failures = check_counts(netc, source)
    with tempfile.TemporaryDirectory() as out:
        failures += crosscheck_resnet(netc, source, out)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"parameter counts equal torch's; resnet agrees with torch to {TOL:g} relative in "
          f"float64 over {STEPS} optimizer steps")


if __name__ == "__main__":
    main()
