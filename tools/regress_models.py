#!/usr/bin/env python3
"""The model set of tools/regress: how each model is built and exported.

    python tools/regress_models.py --export NAME --out FILE.onnx [--seed N]

tools/regress runs this once per model in a child process (torch's memory
goes back when it ends, and an exporter crash costs one model only) and
caches FILE.onnx. Every model is built from its architecture alone with
random weights from a fixed seed: torchvision with weights=None and
weights_backbone=None, transformers from a config; nothing is downloaded.
Dims that vary in real use (batch, sequence, image size, cache length) are
exported as symbols; SIZES below gives the values each model is run at.

The shared pieces (export_torch, BatchNorm calibration, the BERT wrapper,
the transformer perturbation) come from tools/export_models.py and
bench/export_models.py, so all three exporters build these models alike.
This file does not import torch at top level: tools/regress reads the model
table (MODELS) without paying for torch.
"""
import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tools():
    return _load("hodu_tools_export_models", os.path.join(HERE, "export_models.py"))


def _bench():
    return _load("hodu_bench_export_models", os.path.join(REPO, "bench", "export_models.py"))


# Source files whose content keys the export cache (with package versions).
EXPORTER_FILES = [os.path.abspath(__file__), os.path.join(HERE, "export_models.py"),
                  os.path.join(REPO, "bench", "export_models.py")]

IMAGE_AXES = {0: "batch", 2: "height", 3: "width"}


class Model:
    """One entry of the set.

    sizes   list of {symbol: value}: one run per entry
    kind    "float" (1e-4 relative bar) or "int8" (one quantization step)
    int_high  token ids are drawn from [0, int_high)
    chain   [(output, input)]: run k+1 takes these inputs from run k's
            onnxruntime outputs (GPT-2's cache: present -> past)
    tags    "ci": in the CI subset; "heavy": export or build is slow
    relations  {symbol: expression}: a dim that follows from others when
            they are run-time dims (GPT-2's mask: total = past + seq), given
            to hodu as --dim SYM=EXPR
    """

    def __init__(self, name, build, sizes, kind="float", int_high=100, chain=(), tags=(), note="", relations=None):
        self.name, self.build, self.sizes, self.kind = name, build, sizes, kind
        self.int_high, self.chain, self.tags, self.note = int_high, list(chain), set(tags), note
        self.relations = dict(relations or {})


# --- builders: each returns (module, args, input names, output names, dynamic axes) ----

def _image_classifier(arch, size=224):
    def build():
        import torch
        import torchvision
        model = getattr(torchvision.models, arch)(weights=None)
        _tools()._calibrate_batchnorm(model, (4, 3, size, size))
        axes = {"input": IMAGE_AXES, "logits": {0: "batch"}}
        return model, (torch.randn(1, 3, size, size),), ["input"], ["logits"], axes
    return build


def build_vit_b_16():
    import torch
    import torchvision
    # torchvision's ViT checks the image size against its position table:
    # only the batch is dynamic.
    model = torchvision.models.vit_b_16(weights=None)
    # torchvision starts the classifier head at zero (logits all 0: nothing
    # to compare) and every bias at 0, every LayerNorm gain at 1.
    _bench()._perturb_transformer(model)
    with torch.no_grad():
        model.heads.head.weight.normal_(0.0, 0.02)
    # In eval mode nn.MultiheadAttention takes a fused fast path
    # (_native_multi_head_attention) that the ONNX exporter cannot write.
    torch.backends.mha.set_fastpath_enabled(False)
    axes = {"input": {0: "batch"}, "logits": {0: "batch"}}
    return model, (torch.randn(1, 3, 224, 224),), ["input"], ["logits"], axes


def _wrap_out(model):
    import torch

    class OutOnly(torch.nn.Module):
        """Segmentation models return a dict; keep its "out" tensor."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x)["out"]
    return OutOnly(model)


def build_deeplabv3_mobilenet_v3():
    import torch
    from torchvision.models import segmentation
    model = segmentation.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, aux_loss=False)
    _tools()._calibrate_batchnorm(model, (2, 3, 224, 224))
    axes = {"input": IMAGE_AXES, "out": IMAGE_AXES}
    return _wrap_out(model), (torch.randn(1, 3, 224, 224),), ["input"], ["out"], axes


def _detector(ctor):
    def build():
        import torch
        from torchvision.models import detection
        model = getattr(detection, ctor)(weights=None, weights_backbone=None)
        # Calibrate through the backbone alone: the whole detector in train
        # mode wants targets.
        _tools()._calibrate_batchnorm(model.backbone, (2, 3, 320, 320))
        model.eval()
        axes = {"image": {1: "height", 2: "width"}, "boxes": {0: "detections"},
                "scores": {0: "detections"}, "labels": {0: "detections"}}
        return model, ([torch.rand(3, 320, 320)],), ["image"], ["boxes", "scores", "labels"], axes
    return build


class _Stop(Exception):
    """Ends a calibration forward once the layer being calibrated has run."""


def _condition_faster_rcnn(model, images, gains):
    """Data-dependent init of a random-weight Faster R-CNN, layer by layer in
    forward order, so that it behaves like a trained network on `images`.

    With weights=None (and weights_backbone=None) the backbone has plain
    BatchNorm2d, not FrozenBatchNorm2d. Calibrated on the backbone alone
    with standard-normal batches (_detector), it misses the detector's own
    transform: the ImageNet normalisation scales tools/regress's
    standard-normal images by 4.4, the activations then grew to thousands
    through the FPN, the class scores saturated at exactly 1.0, and
    onnxruntime's optimized and unoptimized sessions disagreed by 2e-3.
    Here, through the whole detector, each BatchNorm gets the mean and
    variance of its input over `images` (and a random gain and shift), and
    each conv or linear layer of the FPN and the heads is scaled so that its
    output has the standard deviation `gains` gives it (1 by default):
    activations stay O(1), logits spread. Every layer is calibrated on the
    outputs of the layers before it, already calibrated, as a trained
    network's statistics would be."""
    import torch
    layers = [m for m in model.backbone.body.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    heads = [model.backbone.fpn, model.rpn.head, model.roi_heads.box_head, model.roi_heads.box_predictor]
    layers += [m for h in heads for m in h.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    model.eval()
    # forward order: the order in which the layers first run
    order = []
    hooks = [m.register_forward_hook(lambda m, i, o: order.append(m) if m not in order else None) for m in layers]
    with torch.no_grad():
        model([images[0]])
    for h in hooks:
        h.remove()
    names = {m: n for n, m in model.named_modules()}
    for layer in order:
        is_bn = isinstance(layer, torch.nn.BatchNorm2d)
        acc = []

        def grab(m, inp, out, is_bn=is_bn):
            x = inp[0] if is_bn else out
            acc.append(x.transpose(0, 1).reshape(x.shape[1], -1) if is_bn else x.reshape(-1))
            raise _Stop()
        h = layer.register_forward_hook(grab)
        with torch.no_grad():
            for img in images:
                try:
                    model([img])
                except _Stop:
                    pass
        h.remove()
        with torch.no_grad():
            if is_bn:
                x = torch.cat(acc, dim=1)
                layer.running_mean.copy_(x.mean(dim=1))
                layer.running_var.copy_(x.var(dim=1))
                layer.weight.uniform_(0.5, 1.5)
                layer.bias.normal_(0.0, 0.1)
            else:
                std = float(torch.cat(acc).std())
                scale = gains.get(names[layer], 1.0) / max(std, 1e-12)
                layer.weight.mul_(scale)
                if layer.bias is not None:
                    # a bias of its own, so that a dropped bias shows
                    layer.bias.normal_(0.0, 0.1).mul_(gains.get(names[layer], 1.0))


def build_faster_rcnn():
    import torch
    from torchvision.models import detection
    model = detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None)
    # calibrated on images drawn as tools/regress draws its inputs (standard
    # normal), at the sizes it runs
    images = [torch.randn(3, h, w) for h, w in [(320, 320), (320, 320), (240, 320), (240, 320)]]
    # objectness and class logits spread (scores well below 1, no ties);
    # box deltas small, so boxes stay inside the image and distinct
    gains = {"rpn.head.cls_logits": 2.0, "rpn.head.bbox_pred": 0.2,
             "roi_heads.box_predictor.cls_score": 2.0, "roi_heads.box_predictor.bbox_pred": 0.2}
    _condition_faster_rcnn(model, images, gains)
    model.eval()
    axes = {"image": {1: "height", 2: "width"}, "boxes": {0: "detections"},
            "scores": {0: "detections"}, "labels": {0: "detections"}}
    # the names in the order torchvision's result dict gives them
    return model, ([torch.rand(3, 320, 320)],), ["image"], ["boxes", "labels", "scores"], axes


def _bert(config_kwargs):
    def build():
        import torch
        from transformers import BertConfig, BertModel
        config = BertConfig(**config_kwargs)
        config._attn_implementation = "eager"  # plain MatMul/Softmax, not SDPA
        bert = BertModel(config, add_pooling_layer=False)
        _bench()._perturb_transformer(bert)
        seq_axes = {0: "batch", 1: "seq"}
        axes = {"input_ids": seq_axes, "attention_mask": seq_axes, "last_hidden_state": seq_axes}
        ids = torch.randint(0, 100, (2, 16), dtype=torch.int64)
        mask = torch.ones(2, 16, dtype=torch.int64)
        return (_tools()._BertWrapper(bert), (ids, mask), ["input_ids", "attention_mask"],
                ["last_hidden_state"], axes)
    return build


# bert_small is tools/export_models.py's BERT (4 layers, hidden 256)
BERT_SMALL = dict(vocab_size=1000, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                  intermediate_size=1024, max_position_embeddings=512, type_vocab_size=2,
                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
GPT2_LAYERS = 12


def build_gpt2_decoder():
    import torch
    from transformers import DynamicCache, GPT2Config, GPT2LMHeadModel

    config = GPT2Config()  # gpt2 small: 12 layers, hidden 768, 12 heads
    config._attn_implementation = "eager"
    gpt2 = GPT2LMHeadModel(config)
    _bench()._perturb_transformer(gpt2)
    n = config.n_layer

    class Decoder(torch.nn.Module):
        """logits and the grown cache from new tokens and the cache so far,
        the cache as plain tensors: past_key_N, past_value_N in,
        present_key_N, present_value_N out."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, *past):
            cache = DynamicCache(ddp_cache_data=[(past[2 * i], past[2 * i + 1]) for i in range(n)])
            out = self.m(input_ids=input_ids, attention_mask=attention_mask, past_key_values=cache,
                         use_cache=True, return_dict=True)
            flat = []
            for layer in out.past_key_values.layers:
                flat += [layer.keys, layer.values]
            return (out.logits, *flat)

    heads, hd = config.n_head, config.n_embd // config.n_head
    past_len, seq = 3, 2  # trace with both non-zero; both are symbols in the file
    past = []
    in_names, out_names = ["input_ids", "attention_mask"], ["logits"]
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total"},
            "logits": {0: "batch", 1: "seq"}}
    for i in range(n):
        for kv in ("key", "value"):
            past.append(torch.randn(1, heads, past_len, hd))
            in_names.append(f"past_{kv}_{i}")
            out_names.append(f"present_{kv}_{i}")
            axes[in_names[-1]] = {0: "batch", 2: "past"}
            axes[out_names[-1]] = {0: "batch", 2: "total"}
    ids = torch.randint(0, config.vocab_size, (1, seq), dtype=torch.int64)
    mask = torch.ones(1, past_len + seq, dtype=torch.int64)
    return Decoder(gpt2), (ids, mask, *past), in_names, out_names, axes


def build_t5_encoder():
    import torch
    from transformers import T5Config, T5EncoderModel
    config = T5Config(d_model=512, d_ff=2048, d_kv=64, num_layers=6, num_heads=8,
                      vocab_size=32128, dropout_rate=0.0)  # t5-small's encoder
    config._attn_implementation = "eager"
    enc = T5EncoderModel(config)

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          return_dict=True).last_hidden_state

    seq_axes = {0: "batch", 1: "seq"}
    axes = {"input_ids": seq_axes, "attention_mask": seq_axes, "last_hidden_state": seq_axes}
    ids = torch.randint(0, 1000, (2, 16), dtype=torch.int64)
    return (Wrapper(enc), (ids, torch.ones_like(ids)), ["input_ids", "attention_mask"],
            ["last_hidden_state"], axes)


def build_whisper_tiny_encoder():
    import torch
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder
    config = WhisperConfig(d_model=384, encoder_layers=4, encoder_attention_heads=6,
                           decoder_layers=4, decoder_attention_heads=6, encoder_ffn_dim=1536,
                           decoder_ffn_dim=1536, num_mel_bins=80, max_source_positions=1500,
                           dropout=0.0)  # whisper-tiny
    config._attn_implementation = "eager"
    enc = WhisperEncoder(config)
    _bench()._perturb_transformer(enc)

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_features):
            return self.m(input_features, return_dict=True).last_hidden_state

    # The encoder insists on 3000 frames (30 s): only the batch varies.
    axes = {"input_features": {0: "batch"}, "last_hidden_state": {0: "batch"}}
    return (Wrapper(enc), (torch.randn(1, 80, 3000),), ["input_features"], ["last_hidden_state"], axes)


def build_lstm_classifier():
    import torch

    class LSTMClassifier(torch.nn.Module):
        """Embedding, a two-layer bidirectional LSTM, the last step's state
        through a linear layer: a small text classifier."""

        def __init__(self, vocab=1000, emb=64, hidden=128, classes=4):
            super().__init__()
            self.emb = torch.nn.Embedding(vocab, emb)
            self.lstm = torch.nn.LSTM(emb, hidden, num_layers=2, batch_first=True, bidirectional=True)
            self.fc = torch.nn.Linear(2 * hidden, classes)

        def forward(self, input_ids):
            out, _ = self.lstm(self.emb(input_ids))
            return self.fc(out[:, -1, :])

    axes = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch"}}
    ids = torch.randint(0, 1000, (2, 16), dtype=torch.int64)
    return LSTMClassifier(), (ids,), ["input_ids"], ["logits"], axes


def quantize_resnet18_qdq(fp32_path, out_path, seed):
    """QDQ int8 with onnxruntime's static quantization, calibrated on a few
    random batches (uint8 activations, int8 weights, per tensor)."""
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(seed)
            self.batches = iter([{"input": rng.standard_normal((1, 3, 224, 224)).astype(np.float32)}
                                 for _ in range(4)])

        def get_next(self):
            return next(self.batches, None)

    tmp = out_path + ".tmp"
    quantize_static(fp32_path, tmp, Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=False)
    os.replace(tmp, out_path)


def _sizes(*dicts):
    return [dict(d) for d in dicts]


# Two batches at one image size (one build with a run-time batch), then another size.
IMG_SIZES = _sizes({"batch": 1, "height": 224, "width": 224}, {"batch": 2, "height": 224, "width": 224},
                   {"batch": 2, "height": 160, "width": 192})
# Cache lengths: a prompt of 8 tokens into an empty cache, then one token a step.
GPT2_STEPS = _sizes({"batch": 1, "seq": 8, "past": 0, "total": 8},
                    {"batch": 1, "seq": 1, "past": 8, "total": 9},
                    {"batch": 1, "seq": 1, "past": 9, "total": 10},
                    {"batch": 1, "seq": 1, "past": 10, "total": 11})

MODELS = {m.name: m for m in [
    Model("lstm_classifier", build_lstm_classifier,
          _sizes({"batch": 1, "seq": 16}, {"batch": 4, "seq": 40}), int_high=1000, tags=["ci"]),
    Model("mobilenet_v3_large", _image_classifier("mobilenet_v3_large"), IMG_SIZES, tags=["ci"]),
    Model("bert_small", _bert(BERT_SMALL),
          _sizes({"batch": 1, "seq": 16}, {"batch": 8, "seq": 128}), int_high=1000, tags=["ci"]),
    Model("resnet50", _image_classifier("resnet50"), IMG_SIZES),
    Model("efficientnet_b0", _image_classifier("efficientnet_b0"), IMG_SIZES),
    Model("densenet121", _image_classifier("densenet121"), IMG_SIZES),
    Model("vit_b_16", build_vit_b_16, _sizes({"batch": 1}, {"batch": 2}), tags=["heavy"]),
    # one build over run-time H/W (its final Resize takes Shape(input)'s H/W); an odd size too
    Model("deeplabv3_mobilenet_v3", build_deeplabv3_mobilenet_v3,
          _sizes({"batch": 1, "height": 224, "width": 224}, {"batch": 2, "height": 160, "width": 192},
                 {"batch": 1, "height": 241, "width": 317})),
    Model("ssdlite320_mobilenet_v3", _detector("ssdlite320_mobilenet_v3_large"),
          _sizes({"height": 320, "width": 320}, {"height": 240, "width": 320})),
    Model("fasterrcnn_mobilenet_v3", build_faster_rcnn,
          _sizes({"height": 320, "width": 320}, {"height": 240, "width": 320}), tags=["heavy"]),
    Model("bert_base", _bert({}),
          _sizes({"batch": 1, "seq": 16}, {"batch": 8, "seq": 128}), int_high=30522, tags=["heavy"]),
    Model("gpt2_decoder", build_gpt2_decoder, GPT2_STEPS, int_high=50257, tags=["heavy"],
          chain=[(f"present_{kv}_{i}", f"past_{kv}_{i}") for i in range(GPT2_LAYERS) for kv in ("key", "value")],
          note="decode steps: each run's past is the previous run's present (from onnxruntime)",
          relations={"total": "past+seq"}),
    Model("t5_encoder", build_t5_encoder,
          _sizes({"batch": 1, "seq": 16}, {"batch": 2, "seq": 64}), int_high=32128),
    Model("whisper_tiny_encoder", build_whisper_tiny_encoder, _sizes({"batch": 1}, {"batch": 2})),
    Model("resnet18_int8_qdq", _image_classifier("resnet18"),
          _sizes({"batch": 1, "height": 224, "width": 224}, {"batch": 2, "height": 224, "width": 224}),
          kind="int8"),
]}


def export(name, out_path, seed):
    import numpy as np
    import torch
    tools = _tools()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    np.random.seed(seed)
    torch.manual_seed(seed)
    m = MODELS[name]
    module, args, in_names, out_names, axes = m.build()
    if m.kind == "int8":
        fp32 = out_path + ".fp32.onnx"
        tools.export_torch(module, args, in_names, out_names, fp32, dynamic_axes=axes)
        try:
            quantize_resnet18_qdq(fp32, out_path, seed)
        finally:
            os.remove(fp32)
    else:
        tools.export_torch(module, args, in_names, out_names, out_path, dynamic_axes=axes)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", required=True, choices=sorted(MODELS), metavar="NAME")
    ap.add_argument("--out", required=True, metavar="FILE.onnx")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    export(args.export, args.out, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
