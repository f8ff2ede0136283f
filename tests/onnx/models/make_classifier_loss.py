#!/usr/bin/python3
"""Writes classifier_loss.onnx and classifier_loss.json beside this script: a
small classifier (Linear(8, 16) - ReLU - Linear(16, 4)) whose forward returns
nn.CrossEntropyLoss of its logits against int64 labels, exported by
torch.onnx.export (opset 13: the loss becomes one SoftmaxCrossEntropyLoss
node), and the inputs it was run on with PyTorch's loss.

tests/onnx/classifier_loss_test.py (a ctest) and tests/frontend/onnx_loss_test.cpp
compare netc's loss on the committed files with the loss recorded here.

Usage: make_classifier_loss.py   (Debian's python3-torch; run again only to
regenerate the committed files)
"""
import json
import os

import torch
import torch.nn as nn


class ClassifierLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
        self.loss = nn.CrossEntropyLoss()

    def forward(self, x, labels):
        return self.loss(self.net(x), labels)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(12)
    m = ClassifierLoss().eval()
    x = torch.randn(6, 8)
    labels = torch.tensor([0, 3, 1, 1, 2, 3], dtype=torch.int64)
    with torch.no_grad():
        loss = m(x, labels)
    torch.onnx.export(m, (x, labels), os.path.join(here, "classifier_loss.onnx"),
                      opset_version=13, input_names=["x", "labels"], output_names=["loss"])
    with open(os.path.join(here, "classifier_loss.json"), "w") as f:
        json.dump({"x": x.tolist(), "labels": labels.tolist(), "loss": loss.item(),
                   "torch": torch.__version__}, f, indent=1)
        f.write("\n")
    print(f"loss {loss.item():.9g}")


if __name__ == "__main__":
    main()
