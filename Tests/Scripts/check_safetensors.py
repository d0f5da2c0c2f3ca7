#!/usr/bin/env python3
"""Cross-checks SwiftGrad's safetensors files against the reference
`safetensors` package (pip install safetensors numpy). Not run by XCTest.

    python3 Tests/Scripts/check_safetensors.py write DIR   # DIR/python.safetensors
    SWIFTGRAD_INTEROP_DIR=DIR swift test --filter SwiftGradNNTests.CheckpointTests/testInteropWithPythonFiles
    python3 Tests/Scripts/check_safetensors.py read DIR    # checks DIR/swift.safetensors

Both sides use the same expected tensors, defined in `expected()` here and in
CheckpointTests.interopTensors.
"""
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file


def expected():
    return {
        "0.weight": np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5,
        "0.bias": np.array([1.5, -2.25], dtype=np.float32),
        "bn.num_batches_tracked": np.array(7.0, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }


def write(directory):
    save_file(expected(), f"{directory}/python.safetensors", metadata={"writer": "python", "epoch": "3"})
    print(f"wrote {directory}/python.safetensors")


def read(directory):
    path = f"{directory}/swift.safetensors"
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    want = expected()
    assert set(tensors) == set(want), f"names {sorted(tensors)} != {sorted(want)}"
    for name, value in want.items():
        got = tensors[name]
        assert got.dtype == np.float32, f"{name}: dtype {got.dtype}"
        assert got.shape == value.shape, f"{name}: shape {got.shape} != {value.shape}"
        assert np.array_equal(got, value), f"{name}: values differ"
    assert metadata == {"writer": "swift", "epoch": "3"}, f"metadata {metadata}"
    print(f"{path}: {len(tensors)} tensors and metadata match")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("read", "write"):
        sys.exit(__doc__)
    (write if sys.argv[1] == "write" else read)(sys.argv[2])
