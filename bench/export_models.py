#!/usr/bin/env python3
"""Export the benchmark's model set to ONNX with random weights.

    python bench/export_models.py --out DIR [NAME ...]

Every model is built from its architecture alone (nothing is downloaded),
seeded from a fixed seed, exported in eval mode at opset 17 with static
shapes through the TorchScript exporter, and checked with onnx.checker.
With no names, the whole set is exported.  The ResNet/MobileNet builders,
the BatchNorm calibration and the BERT wrapper come from
tools/export_models.py, so the compiler tests and the bench export these
architectures the same way.
"""
import argparse
import importlib.util
import os
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 0
SEQ = 128


def _load_tools_exporter():
    # Loaded under its own name: this file is also called export_models.
    path = os.path.join(REPO, "tools", "export_models.py")
    spec = importlib.util.spec_from_file_location("hodu_tools_export_models", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


tools = _load_tools_exporter()


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(784, 512), torch.nn.ReLU(),
            torch.nn.Linear(512, 512), torch.nn.ReLU(),
            torch.nn.Linear(512, 10))

    def forward(self, x):
        return self.net(x)


class LeNet5(torch.nn.Module):
    """LeCun et al. 1998 layout (6 and 16 5x5 filters, 120-84-10), with ReLU
    and max pooling as it is usually written today."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
        self.classifier = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(16 * 5 * 5, 120), torch.nn.ReLU(),
            torch.nn.Linear(120, 84), torch.nn.ReLU(),
            torch.nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def _mlp(batch):
    def build():
        return MLP(), (torch.randn(batch, 784),), ["x"], ["logits"]
    return build


def build_lenet5():
    return LeNet5(), (torch.randn(1, 1, 32, 32),), ["x"], ["logits"]


def _torchvision(name):
    def build():
        import torchvision
        model = getattr(torchvision.models, name)(weights=None)
        # Fresh BatchNorm is nearly an identity; calibrated statistics make
        # the comparison with onnxruntime meaningful.
        tools._calibrate_batchnorm(model, (4, 3, 224, 224))
        return model, (torch.randn(1, 3, 224, 224),), ["input"], ["logits"]
    return build


def _perturb_transformer(model):
    # Default init sets every bias to 0 and every LayerNorm gain to 1: a
    # dropped bias would go unseen, and the exporter would share equal
    # tensors. Make each parameter distinct.
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("bias"):
                p.normal_(0.0, 0.02)
            elif ("LayerNorm" in pname or ".ln_" in pname or pname.startswith("ln_")) and pname.endswith("weight"):
                p.uniform_(0.8, 1.2)


def build_bert_base():
    from transformers import BertConfig, BertModel
    config = BertConfig()  # bert-base: 12 layers, hidden 768, 12 heads, 3072
    config._attn_implementation = "eager"  # plain MatMul/Softmax, not SDPA
    bert = BertModel(config, add_pooling_layer=False)
    _perturb_transformer(bert)
    ids = torch.randint(0, config.vocab_size, (1, SEQ), dtype=torch.int64)
    mask = torch.ones(1, SEQ, dtype=torch.int64)
    return tools._BertWrapper(bert), (ids, mask), ["input_ids", "attention_mask"], ["last_hidden_state"]


class _GPT2Prefill(torch.nn.Module):
    """One prompt pass: hidden states only, no key/value cache outputs."""

    def __init__(self, gpt2):
        super().__init__()
        self.gpt2 = gpt2

    def forward(self, input_ids):
        # An explicit all-ones mask: without one, transformers probes the
        # position ids for packed sequences with torch.diff, which the ONNX
        # exporter cannot express. The mask depends on the shape only, so it
        # folds to a constant.
        mask = torch.ones_like(input_ids)
        return self.gpt2(input_ids=input_ids, attention_mask=mask, use_cache=False,
                         return_dict=True).last_hidden_state


def build_gpt2_prefill():
    from transformers import GPT2Config, GPT2Model
    config = GPT2Config()  # gpt2 small: 12 layers, hidden 768, 12 heads
    config.use_cache = False
    config._attn_implementation = "eager"
    gpt2 = GPT2Model(config)
    _perturb_transformer(gpt2)
    ids = torch.randint(0, config.vocab_size, (1, SEQ), dtype=torch.int64)
    return _GPT2Prefill(gpt2), (ids,), ["input_ids"], ["last_hidden_state"]


MODELS = {
    "mlp_b1": _mlp(1),
    "mlp_b64": _mlp(64),
    "lenet5": build_lenet5,
    "resnet18": _torchvision("resnet18"),
    "resnet50": _torchvision("resnet50"),
    "mobilenet_v2": _torchvision("mobilenet_v2"),
    "mobilenet_v3_large": _torchvision("mobilenet_v3_large"),
    "efficientnet_b0": _torchvision("efficientnet_b0"),
    "bert_base": build_bert_base,
    "gpt2_prefill": build_gpt2_prefill,
}


def export_one(name, out_dir, seed=SEED):
    # Same seed for every model: mlp_b1 and mlp_b64 get the same weights.
    np.random.seed(seed)
    torch.manual_seed(seed)
    path = os.path.join(out_dir, f"{name}.onnx")
    t0 = time.time()
    tools.export_torch(*MODELS[name](), path)
    print(f"exported {name}: {os.path.getsize(path) / 2**20:.1f} MiB in {time.time() - t0:.1f} s", flush=True)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder to write NAME.onnx into")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("models", nargs="*", metavar="NAME", help=f"default: all of {', '.join(MODELS)}")
    args = ap.parse_args(argv)
    names = args.models or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    os.makedirs(args.out, exist_ok=True)
    failed = 0
    for name in names:
        try:
            export_one(name, args.out, args.seed)
        except Exception as exc:  # keep going; the caller sees which are missing
            failed += 1
            print(f"export_models: error: {name}: {type(exc).__name__}: {exc}".splitlines()[0],
                  file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
