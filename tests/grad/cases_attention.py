"""Gradient cases of Attention (src/ops/attention_grad.c), opset 23,
against torch.nn.functional.scaled_dot_product_attention, or the same
computation written out in PyTorch where SDPA has no such form (grouped kv
heads, past key / value with their causal diagonal, softcap).  Attention
takes no double (ONNX's type list, which hodu keeps), so the cases are
checked against PyTorch in f32 only."""
import math

import torch
import torch.nn.functional as F
from check_grads import Case
from onnx import helper

B, H, SQ, SK, D, DV = 2, 2, 3, 4, 5, 3


def attn(name, ins, fn, **attrs):
    return Case(f"Attention {name}", "Attention", ins, fn, attrs=attrs, opset=23, f64=False)


def ref(t, past=False, causal=False, softcap=0.0, mask=False):
    """Attention written out: past key / value in front of K and V, each kv
    head repeated for its group of query heads (h reads kv head h / G),
    scale 1/sqrt(head size), then softcap, mask and the causal diagonal
    (key j hidden from query i when j > i + past length)."""
    q, k, v = t["q"], t["k"], t["v"]
    sp = 0
    if past:
        sp = t["pk"].shape[2]
        k, v = torch.cat([t["pk"], k], 2), torch.cat([t["pv"], v], 2)
    g = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if softcap:
        s = softcap * torch.tanh(s / softcap)
    if mask:
        s = s + t["m"]
    if causal:
        i = torch.arange(q.shape[2])[:, None]
        j = torch.arange(k.shape[2])[None, :]
        s = s.masked_fill(j > i + sp, float("-inf"))
    return [torch.softmax(s, -1) @ v]


def attn_node(name, ins, fn, inputs, ort=False, **attrs):
    """Attention with past key / value: present_key and present_value
    made (onnxruntime wants them) but not read."""
    node = helper.make_node("Attention", inputs, ["y", "present_k", "present_v"], **attrs)
    return Case(f"Attention {name}", [node], ins, fn, opset=23, f64=False, ort=ort)


SP = 2
PAST = [("pk", (B, H, SP, D)), ("pv", (B, H, SP, DV))]
GQA = [("q", (B, 2 * H, SQ, D)), ("k", (B, H, SK, D)), ("v", (B, H, SK, DV))]

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
    attn("grouped kv heads", GQA, lambda t: ref(t)),
    attn_node("past key and value", QKV + PAST, lambda t: ref(t, past=True), ["q", "k", "v", "", "pk", "pv"]),
    attn_node("past, grouped kv heads, causal", GQA + PAST, lambda t: ref(t, past=True, causal=True),
              ["q", "k", "v", "", "pk", "pv"], is_causal=1, ort=True),
    attn_node("past, float mask over past and new keys", QKV + [("m", (SQ, SP + SK))] + PAST,
              lambda t: ref(t, past=True, mask=True), ["q", "k", "v", "m", "pk", "pv"]),
    attn("softcap", QKV, lambda t: ref(t, softcap=1.5), softcap=1.5),
    attn("softcap, grouped, causal", [("q", (B, 2 * H, SK, D)), ("k", (B, H, SK, D)), ("v", (B, H, SK, DV))],
         lambda t: ref(t, softcap=2.0, causal=True), softcap=2.0, is_causal=1),
]
