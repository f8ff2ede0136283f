#!/usr/bin/python3
"""Nearest-neighbour accuracy of the embeddings examples/triplet.nn learned.

Usage: triplet_knn.py BINARY CHECKPOINT [DATA_DIR]

The compiled binary embeds the 60,000 training and the 10,000 test images of
Fashion-MNIST (`BINARY predict`, which normalizes them as training did); each
test image then takes the class of its nearest training image (k = 1) and the
majority class of its 5 nearest (k = 5), by Euclidean distance. Prints both
accuracies. Needs numpy (Debian python3-numpy).
"""
import gzip
import io
import subprocess
import sys

import numpy as np


def labels(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if int.from_bytes(raw[0:4], "big") != 0x801:
        sys.exit(f"{path}: not an IDX label file")
    return np.frombuffer(raw, dtype=np.uint8, offset=8).astype(np.int64)


def embed(binary, checkpoint, images):
    out = subprocess.run([binary, "predict", "--weights", checkpoint, "--input", images],
                         check=True, capture_output=True, text=True).stdout
    rows = np.loadtxt(io.StringIO(out), delimiter=",", skiprows=1, dtype=np.float64)
    return rows[:, 1:]  # the first column is the row index


def knn_accuracy(train_e, train_y, test_e, test_y, k):
    correct = 0
    sq_train = (train_e * train_e).sum(axis=1)
    for start in range(0, len(test_e), 1000):  # 1000 x 60000 distances at a time
        q = test_e[start:start + 1000]
        d = sq_train[None, :] - 2 * q @ train_e.T
        nearest = np.argpartition(d, k - 1, axis=1)[:, :k] if k > 1 else d.argmin(axis=1)[:, None]
        votes = train_y[nearest]
        predicted = np.array([np.bincount(v, minlength=10).argmax() for v in votes])
        correct += int((predicted == test_y[start:start + 1000]).sum())
    return correct / len(test_e)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    binary, checkpoint = sys.argv[1], sys.argv[2]
    root = sys.argv[3] if len(sys.argv) == 4 else "/usr/share/datasets/fashion-mnist"
    train_e = embed(binary, checkpoint, f"{root}/train-images-idx3-ubyte.gz")
    test_e = embed(binary, checkpoint, f"{root}/t10k-images-idx3-ubyte.gz")
    train_y = labels(f"{root}/train-labels-idx1-ubyte.gz")
    test_y = labels(f"{root}/t10k-labels-idx1-ubyte.gz")
    for k in (1, 5):
        acc = knn_accuracy(train_e, train_y, test_e, test_y, k)
        print(f"{k}-nearest-neighbour test accuracy: {100 * acc:.2f}% "
              f"({len(test_e)} test images against {len(train_e)} training images)")


if __name__ == "__main__":
    main()
