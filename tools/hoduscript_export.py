#!/usr/bin/env python3
"""Exports the PyTorch twins of the HoduScript examples (examples/*.hodu)
as safetensors files whose tensor names are the HoduScript parameter names.

    tools/hoduscript_export.py mlp OUT.safetensors [--seed N]
    tools/hoduscript_export.py cnn OUT.safetensors [--seed N]

The module definitions here are the reference for tests/script/run_examples.py:
keep them in step with examples/mlp.hodu and examples/cnn.hodu.
"""
import argparse
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file


class Classifier(nn.Module):  # examples/mlp.hodu
    def __init__(self, d_in=784, hidden=128, classes=10):
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        return torch.softmax(self.fc2(torch.relu(self.fc1(x))), dim=-1)


class Net(nn.Module):  # examples/cnn.hodu
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, classes)

    def forward(self, x):
        h = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        h = F.max_pool2d(torch.relu(self.conv2(h)), 2)
        return self.fc(torch.flatten(h, 1))


MODELS = {"mlp": Classifier, "cnn": Net}


def make(name, seed=0):
    torch.manual_seed(seed)
    return MODELS[name]().eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    m = make(a.model, a.seed)
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
