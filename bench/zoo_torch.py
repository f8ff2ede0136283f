#!/usr/bin/env python3
"""PyTorch's side of bench/compare.py for the model zoo (resnet, inception,
mobilenet, lstm, vit): the twins of tests/e2e, timed like `OUT bench`.

  zoo_torch.py round MODEL [--threads 2] [--steps 10] [--warmup 2]
      One JSON line: the median training step at batch 128 (forward, loss,
      backward and the .nn file's optimizer on one random batch, as
      bench/torch_step.py), the peak resident memory of the process up to the
      end of training (ru_maxrss: torch itself, the model, the optimizer and
      the training step), inference images/s at batch 256 (eval mode,
      no_grad, median of the timed calls) and the median batch-1 latency.
  zoo_torch.py export MODEL DIR
      The twin in eval mode (random init, seed 0) as ONNX at batch 1 and 256,
      DIR/MODEL_b1.onnx and DIR/MODEL_b256.onnx, with the settings of
      ../shared/bench/export_onnx.py (opset 13, input "x", output "logits").
  zoo_torch.py count MODEL
      The twin's trainable parameters.

The twins: tests/e2e/torch_zoo.py (resnet, inception, mobilenet) and
tests/e2e/torch_vit.py (vit, as many blocks as examples/vit.nn calls).
tests/e2e has no module for the lstm (torch_recurrent.py builds its
classifier from netc's exported weights), so the lstm twin is the one
examples/lstm.nn's header names: nn.LSTM(28, 128, batch_first=True), its last
hidden state, nn.Linear(128, 10). The optimizer is the train block's
(torch_zoo.torch_optimizer for adam and sgd; adamw as torch_vit.py reads it)
and the loss keeps the file's label smoothing. Learning-rate schedules and
augmentation are left out on both sides (`OUT bench` times one step on a
random batch). Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import json
import os
import re
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import torch_vit  # noqa: E402  (the vit twin)
import torch_zoo  # noqa: E402  (resnet, inception and mobilenet twins; torch_optimizer)

ZOO = ("resnet", "inception", "mobilenet", "lstm", "vit")


class LSTMTwin(nn.Module):
    """examples/lstm.nn: nn.LSTM(28, 128, batch_first=True), last state, dense 10."""

    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTM(28, 128, batch_first=True)
        self.dense1 = nn.Linear(128, 10)

    def forward(self, x):
        _, (h_n, _) = self.lstm1(x)
        return self.dense1(h_n[-1])


def source(name):
    with open(os.path.join(ROOT, "examples", name + ".nn")) as f:
        return f.read()


def twin(name):
    """(model, input shape without the batch)."""
    if name == "vit":
        return torch_vit.ViT(torch_vit.count_blocks(
            os.path.join(ROOT, "examples", "vit.nn"))), (1, 28, 28)
    if name == "lstm":
        return LSTMTwin(), (28, 28)
    return torch_zoo.TWINS[name](), (1, 28, 28)


def optimizer(model, text):
    m = re.search(r"optimizer\s*=\s*adamw\(([^)]*)\)", text)
    if m:
        args = dict(kv.split("=") for kv in m.group(1).replace(" ", "").split(","))
        num = lambda k, d: float(args.get(k, d))
        return torch.optim.AdamW(model.parameters(), lr=num("lr", 1e-3),
                                 betas=(num("beta1", 0.9), num("beta2", 0.999)),
                                 eps=num("eps", 1e-8), weight_decay=num("weight_decay", 0.01)), "adamw"
    return torch_zoo.torch_optimizer(model, text)


def median_ms(fn, n, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def run_round(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model, shape = twin(a.model)
    text = source(a.model)
    opt, opt_name = optimizer(model, text)
    smoothing = re.search(r"label_smoothing=([0-9.e-]+)", text)
    smoothing = float(smoothing.group(1)) if smoothing else 0.0
    x = torch.randn(128, *shape)
    y = torch.randint(0, 10, (128,))
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y, label_smoothing=smoothing)
        loss.backward()
        opt.step()
        return loss.item()

    step_ms = median_ms(step, a.steps, a.warmup)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model.eval()
    with torch.no_grad():
        xb, x1 = torch.randn(256, *shape), torch.randn(1, *shape)
        b256_ms = median_ms(lambda: model(xb), a.steps, 2)
        b1_ms = median_ms(lambda: model(x1), 10 * a.steps, 10)
    print(json.dumps({"model": a.model, "optimizer": opt_name, "label_smoothing": smoothing,
                      "threads": a.threads, "step_ms": step_ms, "train_ips": 128e3 / step_ms,
                      "rss_mb": rss_mb, "infer_ips_b256": 256e3 / b256_ms,
                      "latency_ms_b1": b1_ms}), flush=True)


def export(a):
    torch.manual_seed(0)
    model, shape = twin(a.model)
    model.eval()
    for b in (1, 256):
        torch.onnx.export(model, torch.randn(b, *shape),
                          os.path.join(a.dir, f"{a.model}_b{b}.onnx"), opset_version=13,
                          input_names=["x"], output_names=["logits"])
    print(json.dumps({"model": a.model, "shape": list(shape)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("round", "export", "count"))
    ap.add_argument("model", choices=ZOO)
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    if a.mode == "round":
        run_round(a)
    elif a.mode == "export":
        export(a)
    else:
        model, _ = twin(a.model)
        print(sum(p.numel() for p in model.parameters() if p.requires_grad))


if __name__ == "__main__":
    main()
