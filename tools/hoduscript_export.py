#!/usr/bin/env python3
"""Exports the PyTorch twins of the HoduScript examples (examples/*.hodu)
as safetensors files whose tensor names are the HoduScript parameter names.

    tools/hoduscript_export.py mlp OUT.safetensors [--seed N]
    tools/hoduscript_export.py cnn OUT.safetensors [--seed N]
    tools/hoduscript_export.py transformer_block OUT.safetensors [--seed N]
    tools/hoduscript_export.py gpt OUT.safetensors [--seed N]

The module definitions here are the reference for tests/script/run_examples.py:
keep them in step with examples/*.hodu and std/nn.hodu.
"""
import argparse
import math
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


class MultiHeadAttention(nn.Module):  # std/nn.hodu
    def __init__(self, dim, heads, causal=False):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        hd = d // self.heads

        def split(y):
            return y.view(b, t, self.heads, hd).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(hd)
        if self.causal:
            upper = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
            scores = scores.masked_fill(upper, float("-inf"))
        h = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        return self.out_proj(h)


class EncoderBlock(nn.Module):  # examples/transformer_block.hodu
    def __init__(self, dim=64, heads=4, hidden=256):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        h = x + self.attn(self.ln1(x))
        return h + self.fc2(F.gelu(self.fc1(self.ln2(h))))


class Block(nn.Module):  # examples/gpt.hodu
    def __init__(self, dim, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, causal=True)
        self.ln2 = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, 4 * dim)
        self.proj = nn.Linear(4 * dim, dim)

    def forward(self, x):
        h = x + self.attn(self.ln1(x))
        return h + self.proj(F.gelu(self.fc(self.ln2(h))))


class GPT(nn.Module):  # examples/gpt.hodu
    def __init__(self, vocab=256, context=64, dim=64, heads=4, layers=2):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(context, dim)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, idx):
        h = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        for b in self.blocks:
            h = b(h)
        return self.head(self.ln_f(h))


class Norms(nn.Module):  # tests/script/norms.hodu: BatchNorm2d and RMSNorm of std/nn
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(3)
        self.rms = nn.RMSNorm(5, eps=1e-6)

    def forward(self, x):
        return self.rms(self.bn(x))


class Grouped(nn.Module):  # tests/script/grouped.hodu: grouped Conv2d of std/nn
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 16, 1)
        self.gc = nn.Conv2d(16, 24, 3, stride=2, padding=1, groups=4, bias=False)

    def forward(self, x):
        return self.gc(torch.relu(self.pw(torch.relu(self.dw(x)))))


class Tuples(nn.Module):  # tests/script/tuples.hodu: several outputs
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        h = self.fc(x)
        return torch.relu(h[:, :4]), torch.tanh(h[:, 4:]), h


class Windows(nn.Module):  # tests/script/windows.hodu: windows of a run-time sequence (no parameters)
    def forward(self, x):
        return x[:, -1], x[:, -3:-1], x[:, 0:3]


MODELS = {"mlp": Classifier, "cnn": Net, "transformer_block": EncoderBlock, "gpt": GPT, "norms": Norms,
          "grouped": Grouped, "tuples": Tuples, "windows": Windows}


def make(name, seed=0):
    torch.manual_seed(seed)
    m = MODELS[name]()
    for mod in m.modules():  # give the norms' statistics and affine values something to do
        if isinstance(mod, nn.BatchNorm2d):
            with torch.no_grad():
                mod.running_mean.uniform_(-1, 1)
                mod.running_var.uniform_(0.5, 2)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.5, 0.5)
        if isinstance(mod, (nn.RMSNorm, nn.LayerNorm)):
            with torch.no_grad():
                mod.weight.uniform_(0.5, 1.5)
                if getattr(mod, "bias", None) is not None:
                    mod.bias.uniform_(-0.5, 0.5)
    return m.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    m = make(a.model, a.seed)
    state = {k: v.contiguous() for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file(state, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
