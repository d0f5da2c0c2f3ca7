#!/usr/bin/env python3
"""Opens a SwiftGrad MNIST checkpoint with PyTorch and checks that the
weights reproduce SwiftGrad's outputs.

    swift run -c release mnist --epochs 1 --checkpoint /tmp/cnn.safetensors \\
        --predictions-out /tmp/cnn-predictions.safetensors
    python3 Tests/Scripts/check_mnist_checkpoint_pytorch.py /tmp/cnn.safetensors /tmp/cnn-predictions.safetensors

The reference CNN's state_dict names are SwiftGrad's Sequential indices
(conv layers carry their ReLU, so indices differ from a PyTorch Sequential
with separate activation modules); the mapping below is the only glue.
"""
import sys

try:
    import torch
    from safetensors.torch import load_file
except ImportError:
    sys.exit("this check needs PyTorch and safetensors: pip install torch safetensors")

if len(sys.argv) != 3:
    sys.exit(__doc__)

weights = load_file(sys.argv[1])
saved = load_file(sys.argv[2])
model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(64, 64, 3), torch.nn.ReLU(), torch.nn.Flatten(),
    torch.nn.Linear(576, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10),
)
ours_to_torch = {"0": "0", "2": "3", "4": "6", "6": "9", "7": "11"}
state = {f"{ours_to_torch[k.split('.')[0]]}.{k.split('.')[1]}": v for k, v in weights.items()}
model.load_state_dict(state, strict=True)
with torch.no_grad():
    logits = model(saved["images"])
err = (logits - saved["logits"]).abs().max().item()
agree = (logits.argmax(1) == saved["logits"].argmax(1)).float().mean().item()
print(f"max |logit difference| {err:.3g}, predictions agree on {agree * 100:.1f}% of {len(logits)} images")
print(f"{1 if err < 1e-3 else 0} passed, {0 if err < 1e-3 else 1} failed")
sys.exit(0 if err < 1e-3 else 1)
