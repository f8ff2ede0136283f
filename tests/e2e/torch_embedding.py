#!/usr/bin/env python3
"""Cross-check of the embedding layer (gather, and its scatter-add gradient)
against torch.nn.functional.embedding, in float64 (python3-torch).

netc's reference interpreter runs SGD steps on its own random batches of ids
(`input x : class(V)[batch, T]`) and exports the initial weights, the batches,
the first gradients and the final weights; the same model in PyTorch, from
the same weights on the same batches, must agree (torch_op_check.py). The
vocabulary (7) is smaller than the ids per batch (3 x 5), so ids repeat and
the scatter's sums are exercised. Wrong variants (the table's rows reversed,
ids off by one) must miss the first loss.

Usage: torch_embedding.py NETC. Exits 77 (skipped) where torch cannot be
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

LR = 0.5
V = 7

CFG = Config(steps=6, batch=3, seed=5, lr=LR, tol=1e-10, wrong_gap=1e-4)

EMBEDDING_MODEL = f"""input x : class({V})[batch, 5]
label y : class(3)[batch]
e = embedding(x, {V}, 4)
h = tanh(mean(e, axis=1))
logits = dense(h, 3, init=xavier)
loss softmax_cross_entropy(logits, y)
train {{
  optimizer = sgd(lr={LR})
}}
"""


def embedding_forward(reverse=False, shift=0):
    def forward(p, x):
        ids = (x.long() + shift) % V
        table = p["emb1.E"].flip(0) if reverse else p["emb1.E"]
        h = torch.tanh(F.embedding(ids, table).mean(1))
        return h @ p["dense1.W"] + p["dense1.b"]
    return forward


MODELS = {
    "embedding (repeated ids)": (
        EMBEDDING_MODEL, embedding_forward(),
        [embedding_forward(reverse=True), embedding_forward(shift=1)]),
}


def main():
    run_all(sys.argv[1], MODELS, CFG)


if __name__ == "__main__":
    main()
