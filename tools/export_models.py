#!/usr/bin/env python3
"""Export reference models to ONNX with random weights, for compiler tests and benchmarks.

    python tools/export_models.py --out DIR [resnet18 mobilenet_v2 bert ...]

Nothing is downloaded: every model is built from its architecture alone and
initialised from a fixed seed, so the same command always writes the same
weights. Models are exported in eval mode (BatchNorm in inference form, no
dropout), with static shapes and the legacy TorchScript exporter
(dynamo=False), then checked with onnx.checker. With no model names, all are
exported. After each export an operator histogram is printed.
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_ort import op_histogram  # noqa: E402

OPSET = 17
SEED = 0


def _seed(seed):
    np.random.seed(seed)
    torch.manual_seed(seed)


def _calibrate_batchnorm(model, shape, batches=3):
    """Gives BatchNorm layers non-trivial affine parameters and running statistics.

    Freshly initialised BN has gamma=1, beta=0, mean=0, var=1, which is nearly an
    identity in eval mode: folding bugs would go unseen and deep nets' activations
    drift towards zero or overflow. Randomise gamma/beta, then re-estimate the
    running statistics from a few random batches (cumulative average).
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.1)
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        for _ in range(batches):
            model(torch.randn(*shape))
    model.eval()


def build_resnet18():
    import torchvision
    model = torchvision.models.resnet18(weights=None)
    _calibrate_batchnorm(model, (4, 3, 224, 224))
    return model, (torch.randn(1, 3, 224, 224),), ["input"], ["logits"]


def build_mobilenet_v2():
    import torchvision
    model = torchvision.models.mobilenet_v2(weights=None)
    _calibrate_batchnorm(model, (4, 3, 224, 224))
    return model, (torch.randn(1, 3, 224, 224),), ["input"], ["logits"]


class _BertWrapper(torch.nn.Module):
    """Returns only last_hidden_state so the graph has a single, named output."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                         return_dict=True).last_hidden_state


BERT_SEQ = 128


def build_bert():
    from transformers import BertConfig, BertModel
    config = BertConfig(
        vocab_size=1000, hidden_size=256, num_hidden_layers=4,
        num_attention_heads=4, intermediate_size=1024,
        max_position_embeddings=512, type_vocab_size=2,
        hidden_act="gelu", hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0)
    # eager attention gives plain MatMul/Softmax in the graph rather than an SDPA path
    config._attn_implementation = "eager"
    bert = BertModel(config, add_pooling_layer=False)
    # The default init leaves every bias at 0 and every LayerNorm gain at 1: a
    # dropped bias would go unnoticed and the exporter would dedupe the equal
    # tensors behind Identity nodes. Perturb them so each parameter is distinct.
    with torch.no_grad():
        for pname, p in bert.named_parameters():
            if pname.endswith("bias"):
                p.normal_(0.0, 0.02)
            elif "LayerNorm" in pname and pname.endswith("weight"):
                p.uniform_(0.8, 1.2)
    model = _BertWrapper(bert)
    ids = torch.randint(0, 100, (1, BERT_SEQ), dtype=torch.int64)
    mask = torch.ones(1, BERT_SEQ, dtype=torch.int64)
    return model, (ids, mask), ["input_ids", "attention_mask"], ["last_hidden_state"]


MODELS = {
    "resnet18": build_resnet18,
    "mobilenet_v2": build_mobilenet_v2,
    "bert": build_bert,
}


def describe_io(values):
    out = []
    for v in values:
        t = v.type.tensor_type
        dims = "x".join(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                        for d in t.shape.dim)
        out.append(f"{v.name}:{onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)}[{dims}]")
    return ", ".join(out)


def export_torch(model, args, in_names, out_names, path, dynamic_axes=None):
    """Exports an eval-mode module to `path` (opset OPSET), checked with
    onnx.checker; nothing is left under `path` on failure. Shapes are static
    unless `dynamic_axes` ({name: {axis: symbol}}, as torch.onnx.export takes
    it) names symbolic dims (tools/regress.py uses that)."""
    model.eval()
    tmp = path + ".tmp"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter and tracer notices
        torch.onnx.export(model, args, tmp, input_names=in_names, output_names=out_names,
                          opset_version=OPSET, do_constant_folding=True, dynamo=False,
                          dynamic_axes=dynamic_axes)
    onnx.checker.check_model(tmp, full_check=True)  # by path: works past 2 GB
    os.replace(tmp, path)  # no half-written file under the final name


def export_one(name, out_dir, seed):
    _seed(seed)
    path = os.path.join(out_dir, f"{name}.onnx")
    t0 = time.time()
    export_torch(*MODELS[name](), path)
    proto = onnx.load(path)
    hist = op_histogram(proto)
    size = os.path.getsize(path)
    print(f"{name}: {path}  {size / 1e6:.1f} MB  ({time.time() - t0:.1f} s)")
    print(f"  inputs : {describe_io(proto.graph.input)}")
    print(f"  outputs: {describe_io(proto.graph.output)}")
    opsets = ", ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in proto.opset_import)
    print(f"  opset  : {opsets}")
    print(f"  nodes  : {sum(hist.values())}  initializers: {len(proto.graph.initializer)}")
    ranked = sorted(hist.items(), key=lambda kv: (-kv[1], kv[0]))
    print("  ops    : " + ", ".join(f"{op} {n}" for op, n in ranked))
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder to write NAME.onnx into")
    ap.add_argument("--seed", type=int, default=SEED, help="weight/input seed (default 0)")
    ap.add_argument("models", nargs="*", metavar="MODEL",
                    help=f"models to export (default: all of {', '.join(MODELS)})")
    args = ap.parse_args(argv)
    names = args.models or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    failed = 0
    for name in names:
        try:
            export_one(name, args.out, args.seed)
        except Exception as exc:  # keep going, report at the end
            failed += 1
            print(f"export_models: error: {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
