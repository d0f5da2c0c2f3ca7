#!/usr/bin/env python3
"""The MNIST speed setting of issue 5 in Keras and PyTorch, for a
side-by-side with `mnist` on the same machine in the same window.

The reference CNN (Conv 32 3x3 ReLU, MaxPool 2, Conv 64 3x3 ReLU, MaxPool 2,
Conv 64 3x3 ReLU, Flatten, Dense 64 ReLU, Dense 10; 93,322 parameters),
batch 512, SGD lr 0.01, the bundled Data/mnist files held in memory as
float32, N threads. Prints one JSON object per epoch: framework, epoch,
epoch_seconds (the training pass alone), train_loss, test_accuracy.

    pip install tensorflow-cpu   # and/or torch
    python3 Benchmarks/mnist_reference.py --framework keras --threads 2
    python3 Benchmarks/mnist_reference.py --framework torch --threads 2
    swift run -c release mnist --epochs 1 --batch-size 512 --optimizer sgd \\
        --learning-rate 0.01 --schedule constant --threads 2 --quiet

The frameworks are optional dependencies, imported only when asked for.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory):
    def images(name):
        return read_idx(os.path.join(directory, name)).astype(np.float32) / 255.0

    def labels(name):
        return read_idx(os.path.join(directory, name)).astype(np.int64)

    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def run_keras(args, data):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf  # noqa: PLC0415 (optional dependency)
    except ImportError:
        sys.exit("--framework keras needs TensorFlow: pip install tensorflow-cpu")
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.keras.utils.set_random_seed(args.seed)
    x, y, xt, yt = data
    x, xt = x[..., None], xt[..., None]
    layers = tf.keras.layers
    model = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10),
    ])
    model.compile(optimizer=tf.keras.optimizers.SGD(args.learning_rate),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=args.jit_compile)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=args.batch_size, epochs=1, shuffle=True, verbose=0)
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(xt, yt, batch_size=1000, verbose=0)
        name = "keras " + tf.__version__ + (" xla" if args.jit_compile else "")
        print(json.dumps({"framework": name, "epoch": epoch,
                          "epoch_seconds": round(seconds, 3),
                          "train_loss": float(history.history["loss"][-1]),
                          "test_accuracy": float(accuracy)}), flush=True)


def run_torch(args, data):
    try:
        import torch  # noqa: PLC0415 (optional dependency)
        from torch import nn  # noqa: PLC0415
    except ImportError:
        sys.exit("--framework torch needs PyTorch: pip install torch")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x, y, xt, yt = (torch.from_numpy(a) for a in data)
    x, xt = x[:, None], xt[:, None]
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), args.batch_size):
            idx = order[i:i + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            accuracy = float((model(xt).argmax(1) == yt).float().mean())
        print(json.dumps({"framework": "torch " + torch.__version__, "epoch": epoch,
                          "epoch_seconds": round(seconds, 3), "train_loss": total / len(x),
                          "test_accuracy": accuracy}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--framework", choices=["keras", "torch"], required=True)
    ap.add_argument("--data", default=os.path.join(ROOT, "Data", "mnist"))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--learning-rate", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jit-compile", action="store_true", help="keras: compile the step with XLA")
    args = ap.parse_args()
    data = load(args.data)
    (run_keras if args.framework == "keras" else run_torch)(args, data)


if __name__ == "__main__":
    main()
