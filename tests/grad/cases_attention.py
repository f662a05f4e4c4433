"""Gradient cases of Attention (src/ops/attention_grad.c), opset 23 (24
for nonpad_kv_seqlen), against torch.nn.functional.scaled_dot_product_attention,
or the same computation written out in PyTorch where SDPA has no such form
(grouped kv heads, past key / value with their causal diagonal, softcap,
3-D inputs, short masks, nonpad_kv_seqlen, present key / value as outputs).
Attention takes no double (ONNX's type list, which hodu keeps), so the
cases are checked against PyTorch in f32 only."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from check_grads import Case
from onnx import helper

B, H, SQ, SK, D, DV = 2, 2, 3, 4, 5, 3


def attn(name, ins, fn, **attrs):
    return Case(f"Attention {name}", "Attention", ins, fn, attrs=attrs, opset=23, f64=False)


def ref(t, past=False, causal=False, softcap=0.0, mask=False, heads=None, nonpad=False, present=False):
    """Attention written out: 3-D Q, K, V [B, S, H * D] viewed as [B, H, S,
    D] (heads = (q heads, kv heads)), past key / value in front of K and V,
    each kv head repeated for its group of query heads (h reads kv head h /
    G), scale 1/sqrt(head size), then softcap, the mask (a boolean one as 0
    / -inf; one shorter than the kv length padded with -inf), the causal
    diagonal (key j hidden from query i when j > i + past length) and
    nonpad_kv_seqlen (key j hidden from batch b when j >= np[b]).  With
    present, the whole key and value sequences are results too."""
    q, k, v = t["q"], t["k"], t["v"]
    if heads:
        def split(x, h):
            return x.reshape(x.shape[0], x.shape[1], h, -1).transpose(1, 2)
        q, k, v = split(q, heads[0]), split(k, heads[1]), split(v, heads[1])
    sp = 0
    if past:
        sp = t["pk"].shape[2]
        k, v = torch.cat([t["pk"], k], 2), torch.cat([t["pv"], v], 2)
    whole = [k, v]
    g = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    st = k.shape[2]
    if softcap:
        s = softcap * torch.tanh(s / softcap)
    if mask:
        m = t["m"]
        if m.dtype == torch.bool:
            m = torch.zeros(m.shape).masked_fill(~m, float("-inf"))
        s = s + F.pad(m, (0, st - m.shape[-1]), value=float("-inf"))
    if causal:
        i = torch.arange(q.shape[2])[:, None]
        j = torch.arange(st)[None, :]
        s = s.masked_fill(j > i + sp, float("-inf"))
    if nonpad:
        hide = torch.arange(st)[None, :] >= t["np"][:, None]
        s = s.masked_fill(hide[:, None, None, :], float("-inf"))
    y = torch.softmax(s, -1) @ v
    if heads:
        y = y.transpose(1, 2).reshape(y.shape[0], y.shape[2], -1)
    return [y] + (whole if present else [])


def attn_node(name, ins, fn, inputs, ort=False, outputs=("y",), opset=23, consts=None, **attrs):
    """Attention with past key / value: present_key and present_value
    made (onnxruntime wants them), read where `outputs` names them."""
    node = helper.make_node("Attention", inputs, ["y", "present_k", "present_v"], **attrs)
    return Case(f"Attention {name}", [node], ins, fn, opset=opset, f64=False, ort=ort, outputs=list(outputs),
                consts=consts or {})


SP = 2
PAST = [("pk", (B, H, SP, D)), ("pv", (B, H, SP, DV))]
GQA = [("q", (B, 2 * H, SQ, D)), ("k", (B, H, SK, D)), ("v", (B, H, SK, DV))]

QKV = [("q", (B, H, SQ, D)), ("k", (B, H, SK, D)), ("v", (B, H, SK, DV))]
# 3-D: [B, S, heads * head size], q_num_heads = 2 H, kv_num_heads = H
QKV3 = [("q", (B, SQ, 2 * H * D)), ("k", (B, SK, H * D)), ("v", (B, SK, H * DV))]
HEADS3 = {"q_num_heads": 2 * H, "kv_num_heads": H}
PRESENT = ("y", "present_k", "present_v")
# a boolean mask over the first SP + SK - 1 keys, each row keeping key 0
SHORT_BOOL = np.random.default_rng(7).random((B, 1, SQ, SP + SK - 1)) < 0.5
SHORT_BOOL[..., 0] = True

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
    attn("3-D, grouped kv heads", QKV3, lambda t: ref(t, heads=(2 * H, H)), **HEADS3),
    attn_node("3-D, past, causal, present read", QKV3 + PAST,
              lambda t: ref(t, past=True, causal=True, heads=(2 * H, H), present=True),
              ["q", "k", "v", "", "pk", "pv"], outputs=PRESENT, ort=True, is_causal=1, **HEADS3),
    attn_node("present key and value read", QKV + PAST, lambda t: ref(t, past=True, present=True),
              ["q", "k", "v", "", "pk", "pv"], outputs=PRESENT, ort=True),
    attn_node("present key and value alone", QKV + PAST, lambda t: ref(t, past=True, present=True)[1:],
              ["q", "k", "v", "", "pk", "pv"], outputs=PRESENT[1:]),
    attn("float mask shorter than the kv length", QKV + [("m", (SQ, SK - 1))], lambda t: ref(t, mask=True)),
    attn_node("past, boolean mask shorter than the kv length, softcap", QKV + PAST,
              lambda t: ref(t, past=True, mask=True, softcap=2.5), ["q", "k", "v", "m", "pk", "pv"],
              consts={"m": SHORT_BOOL}, softcap=2.5),  # onnxruntime wants a mask the kv length
    attn_node("nonpad_kv_seqlen (opset 24)", QKV + [("np", (B,), "int64=3,1")], lambda t: ref(t, nonpad=True),
              ["q", "k", "v", "", "", "", "np"], opset=24, ort=True),
    attn_node("3-D, nonpad_kv_seqlen, short float mask, causal", QKV3 + [("m", (1, SQ, SK - 1)),
                                                                         ("np", (B,), "int64=4,2")],
              lambda t: ref(t, mask=True, causal=True, nonpad=True, heads=(2 * H, H)),
              ["q", "k", "v", "m", "", "", "np"], opset=24, is_causal=1, **HEADS3),
]
