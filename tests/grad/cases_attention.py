"""Gradient cases of Attention (src/ops/attention_grad.c), opset 23,
against torch.nn.functional.scaled_dot_product_attention.  Attention takes
no double (ONNX's type list), so the cases are checked against PyTorch in
f32 only."""
import torch
import torch.nn.functional as F
from check_grads import Case

B, H, SQ, SK, D, DV = 2, 2, 3, 4, 5, 3


def attn(name, ins, fn, **attrs):
    return Case(f"Attention {name}", "Attention", ins, fn, attrs=attrs, opset=23, f64=False)


QKV = [("q", (B, H, SQ, D)), ("k", (B, H, SK, D)), ("v", (B, H, SK, DV))]

CASES = [
    attn("plain", QKV, lambda t: [F.scaled_dot_product_attention(t["q"], t["k"], t["v"])]),
    attn("scale", QKV, lambda t: [F.scaled_dot_product_attention(t["q"], t["k"], t["v"], scale=0.3)], scale=0.3),
    attn("causal", [("q", (B, H, SK, D)), ("k", (B, H, SK, D)), ("v", (B, H, SK, DV))],
         lambda t: [F.scaled_dot_product_attention(t["q"], t["k"], t["v"], is_causal=True)], is_causal=1),
    attn("float mask broadcast", QKV + [("m", (SQ, SK))],
         lambda t: [F.scaled_dot_product_attention(t["q"], t["k"], t["v"], attn_mask=t["m"])]),
    attn("bool mask", QKV + [("m", (B, 1, SQ, SK), "bool")],
         lambda t: [F.scaled_dot_product_attention(t["q"], t["k"], t["v"], attn_mask=t["m"])]),
    attn("float mask per head", QKV + [("m", (1, H, SQ, SK))],
         lambda t: [F.scaled_dot_product_attention(t["q"], t["k"], t["v"], attn_mask=t["m"])]),
]
