#!/usr/bin/env python3
"""PyTorch's training step of examples/resnet.nn's twin, timed like `OUT bench`.

One step = forward, cross-entropy loss, backward and the train block's
optimizer (read from examples/resnet.nn by torch_zoo.torch_optimizer: today
sgd, lr 0.1, nesterov momentum 0.9, weight decay 5e-4) on a random batch of 28x28 images, in float32 with
T intra-op threads. The twin is tests/e2e/torch_zoo.py's ResNet (same layers,
same parameter count as `netc check examples/resnet.nn`). Prints the median
step time over N timed steps after W warm-up steps, as one JSON line.

Usage: torch_step.py [--batch 128] [--threads 2] [--steps 20] [--warmup 3]
Run it with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from torch_zoo import ResNet, torch_optimizer  # noqa: E402  (the twin; torch_zoo imports nothing else heavy)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ResNet()
    model.train()
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples",
                           "resnet.nn")) as f:
        opt, _ = torch_optimizer(model, f.read())
    x = torch.randn(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()  # waits for the step (and keeps it from being skipped)

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"model": "resnet (torch twin)", "batch": a.batch, "threads": a.threads,
                      "steps": a.steps, "median_ms": round(1e3 * statistics.median(times), 2),
                      "min_ms": round(1e3 * min(times), 2)}))


if __name__ == "__main__":
    main()
