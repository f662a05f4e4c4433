"""Gradient cases of RNN, GRU and LSTM (src/ops/recurrent_grad.c: unrolled
into primitive ops), and of ReverseSequence.

The PyTorch function is the ONNX formulas written out step by step, one
batch entry at a time (so sequence_lens needs no masking trick), and for
the plain forms also torch.nn.LSTM / torch.nn.GRU with the weights mapped.
Every case checks its forward outputs against onnxruntime too."""
import torch
import torch.nn.functional as F
from check_grads import Case
from onnx import helper

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
DEFAULT_ACTS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
# name: (takes alpha, takes beta, default alpha, default beta)
ACT_PARAMS = {"Affine": (1, 1, 1.0, 0.0), "LeakyRelu": (1, 0, 0.01, 0), "ThresholdedRelu": (1, 0, 1.0, 0),
              "ScaledTanh": (1, 1, 1.0, 1.0), "HardSigmoid": (1, 1, 0.2, 0.5), "Elu": (1, 0, 1.0, 0)}


def act_fn(name, a, b):
    return {
        "Tanh": torch.tanh,
        "Sigmoid": torch.sigmoid,
        "Relu": torch.relu,
        "Affine": lambda v: a * v + b,
        "LeakyRelu": lambda v: torch.where(v < 0, a * v, v),
        "ThresholdedRelu": lambda v: torch.where(v > a, v, torch.zeros_like(v)),
        "ScaledTanh": lambda v: a * torch.tanh(b * v),
        "HardSigmoid": lambda v: torch.clamp(a * v + b, 0, 1),
        "Elu": lambda v: torch.where(v < 0, a * torch.expm1(v), v),
        "Softsign": lambda v: v / (1 + v.abs()),
        "Softplus": F.softplus,
    }[name]


def resolve_acts(cell, dirs, acts, alpha, beta):
    """Per direction, the functions; alpha/beta taken in order by those
    that have such a parameter (ONNX's rule)."""
    per = len(DEFAULT_ACTS[cell])
    names = acts or DEFAULT_ACTS[cell]
    if len(names) == per:
        names = names * dirs
    ia = ib = 0
    out = []
    for d in range(dirs):
        fns = []
        for k in range(per):
            name = names[d * per + k]
            ta, tb, a, b = ACT_PARAMS.get(name, (0, 0, 0, 0))
            if ta and ia < len(alpha):
                a, ia = alpha[ia], ia + 1
            if tb and ib < len(beta):
                b, ib = beta[ib], ib + 1
            fns.append(act_fn(name, a, b))
        out.append(fns)
    return out


def reference(cell, t, hidden, direction, layout, acts, alpha, beta, clip, lbr, input_forget):
    """Y [seq, dirs, batch, hidden], Y_h and Y_c [dirs, batch, hidden]
    (layout 1: batch first), by the ONNX formulas."""
    X = t["X"].transpose(0, 1) if layout else t["X"]
    h0, c0 = t.get("h0"), t.get("c0")
    if layout:
        h0 = h0.transpose(0, 1) if h0 is not None else None
        c0 = c0.transpose(0, 1) if c0 is not None else None
    S, N, _ = X.shape
    H, G = hidden, GATES[cell]
    D = 2 if direction == "bidirectional" else 1
    fns = resolve_acts(cell, D, acts, alpha, beta)

    def cl(v):
        return v.clamp(-clip, clip) if clip else v

    zero = X.new_zeros(H)
    Y = [[[zero] * N for _ in range(D)] for _ in range(S)]
    Yh = [[None] * N for _ in range(D)]
    Yc = [[None] * N for _ in range(D)]
    for d in range(D):
        rev = direction == "reverse" or d == 1
        W, R = t["W"][d], t["R"][d]
        b = t["B"][d] if "B" in t else X.new_zeros(2 * G * H)
        wb, rb = b[:G * H], b[G * H:]
        P = t["P"][d] if "P" in t else X.new_zeros(3 * H)
        f, g, hf = (fns[d] + [None, None])[:3]
        for e in range(N):
            n = S if "L" not in t else min(max(int(t["L"][e]), 0), S)
            h = h0[d, e] if h0 is not None else zero
            c = c0[d, e] if c0 is not None else zero
            for s in range(n):
                tt = n - 1 - s if rev else s
                gx, gh = W @ X[tt, e] + wb, R @ h + rb
                if cell == "RNN":
                    h = f(cl(gx + gh))
                elif cell == "GRU":
                    z = f(cl(gx[:H] + gh[:H]))
                    r = f(cl(gx[H:2 * H] + gh[H:2 * H]))
                    if lbr:
                        nn = g(cl(gx[2 * H:] + r * gh[2 * H:]))
                    else:
                        nn = g(cl(gx[2 * H:] + R[2 * H:] @ (r * h) + rb[2 * H:]))
                    h = (1 - z) * nn + z * h
                else:
                    i = f(cl(gx[:H] + gh[:H] + P[:H] * c))
                    fg = 1 - i if input_forget else f(cl(gx[2 * H:3 * H] + gh[2 * H:3 * H] + P[2 * H:] * c))
                    cc = g(cl(gx[3 * H:] + gh[3 * H:]))
                    c = fg * c + i * cc
                    o = f(cl(gx[H:2 * H] + gh[H:2 * H] + P[H:2 * H] * c))
                    h = o * hf(c)
                Y[tt][d][e] = h
            Yh[d][e], Yc[d][e] = h, c
    Yt = torch.stack([torch.stack([torch.stack(Y[s][d]) for d in range(D)]) for s in range(S)])
    Yht = torch.stack([torch.stack(v) for v in Yh])
    Yct = torch.stack([torch.stack(v) for v in Yc])
    if layout:
        return Yt.permute(2, 0, 1, 3), Yht.transpose(0, 1), Yct.transpose(0, 1)
    return Yt, Yht, Yct


def rnn(cell, name, seq=3, batch=2, inp=3, hidden=4, direction="forward", layout=0, bias=True, h0=False, c0=False,
        peep=False, lens=None, acts=None, alpha=(), beta=(), clip=None, lbr=0, input_forget=0,
        outputs=("Y", "Y_h", "Y_c"), torch_fn=None, wrt=None, ort=True):
    D = 2 if direction == "bidirectional" else 1
    G, H = GATES[cell], hidden
    state = (batch, D, H) if layout else (D, batch, H)
    ins = [("X", (batch, seq, inp) if layout else (seq, batch, inp)), ("W", (D, G * H, inp)), ("R", (D, G * H, H))]
    names = ["X", "W", "R", "", "", "", "", ""]
    if bias:
        ins.append(("B", (D, 2 * G * H)))
        names[3] = "B"
    if lens is not None:
        ins.append(("L", (batch,), "int32=" + ",".join(str(v) for v in lens)))
        names[4] = "L"
    if h0:
        ins.append(("h0", state))
        names[5] = "h0"
    if c0:
        ins.append(("c0", state))
        names[6] = "c0"
    if peep:
        ins.append(("P", (D, 3 * H)))
        names[7] = "P"
    n_in = 8 if cell == "LSTM" else 6
    while len(names) > 3 and (len(names) > n_in or not names[-1]):
        names.pop()
    outputs = [o for o in outputs if o != "Y_c" or cell == "LSTM"]
    slots = ["Y", "Y_h", "Y_c"][:3 if cell == "LSTM" else 2]
    outs = [o if o in outputs else "" for o in slots]
    while outs and not outs[-1]:
        outs.pop()
    attrs = {"hidden_size": H, "direction": direction}
    if layout:
        attrs["layout"] = 1
    if acts:
        attrs["activations"] = acts
    if alpha:
        attrs["activation_alpha"] = list(alpha)
    if beta:
        attrs["activation_beta"] = list(beta)
    if clip:
        attrs["clip"] = clip
    if lbr:
        attrs["linear_before_reset"] = 1
    if input_forget:
        attrs["input_forget"] = 1
    node = helper.make_node(cell, names, outs, name=cell.lower(), **attrs)

    def fn(t):
        if torch_fn:
            return torch_fn(t)
        y, yh, yc = reference(cell, t, H, direction, layout, acts, alpha, beta, clip, lbr, input_forget)
        return [{"Y": y, "Y_h": yh, "Y_c": yc}[o] for o in outputs]

    # onnxruntime runs layout 0 only
    return Case(f"{cell} {name}", [node], ins, fn, outputs=outputs, opset=14 if layout else 13, wrt=wrt,
                ort=ort and not layout)


def torch_nn(t, cls, order, state):
    """torch.nn.LSTM / GRU over X, the ONNX weights' gate blocks taken in
    the module's order."""
    H = t["R"].shape[-1]

    def rows(m):
        return torch.cat([m[k * H:(k + 1) * H] for k in order])

    b = t["B"][0]
    params = {"weight_ih_l0": rows(t["W"][0]), "weight_hh_l0": rows(t["R"][0]),
              "bias_ih_l0": rows(b[:len(order) * H]), "bias_hh_l0": rows(b[len(order) * H:])}
    return torch.func.functional_call(cls(t["X"].shape[-1], H), params, (t["X"], state))


def torch_lstm(t):
    """torch.nn.LSTM (gates i, f, g, o) with the ONNX weights (i, o, f, c)."""
    y, (h, c) = torch_nn(t, torch.nn.LSTM, [0, 2, 3, 1], (t["h0"], t["c0"]))
    return [y.unsqueeze(1), h, c]


def torch_gru(t):
    """torch.nn.GRU (gates r, z, n; linear_before_reset) with the ONNX
    weights (z, r, h)."""
    y, h = torch_nn(t, torch.nn.GRU, [1, 0, 2], t["h0"])
    return [y.unsqueeze(1), h]


CASES = [
    # forward, reverse, bidirectional; initial states
    rnn("LSTM", "forward", h0=True, c0=True),
    rnn("LSTM", "reverse", direction="reverse", h0=True),
    rnn("LSTM", "bidirectional", direction="bidirectional", h0=True, c0=True, peep=True),
    rnn("GRU", "forward", h0=True),
    rnn("GRU", "reverse", direction="reverse"),
    rnn("GRU", "bidirectional", direction="bidirectional", h0=True),
    rnn("RNN", "forward", h0=True),
    rnn("RNN", "reverse", direction="reverse", h0=True),
    rnn("RNN", "bidirectional", direction="bidirectional", h0=True),
    # sequence_lens: 0, inside, the whole sequence, past it, negative
    # (onnxruntime refuses lengths outside [0, seq], and gives zeros, not the
    # initial state, as Y_h of an entry of length 0; Hodu's kernel clamps
    # them and keeps the state, and the expansion computes what it does)
    rnn("LSTM", "sequence_lens", seq=4, batch=5, lens=[2, 4, 0, 7, -1], h0=True, c0=True, ort=False),
    rnn("LSTM", "sequence_lens in range", seq=4, batch=3, lens=[2, 4, 1], h0=True, c0=True),
    rnn("LSTM", "sequence_lens bidirectional", seq=4, batch=4, lens=[3, 1, 4, 2], direction="bidirectional",
        h0=True, c0=True, peep=True),
    rnn("GRU", "sequence_lens reverse", seq=4, batch=4, lens=[3, 1, 4, 0], direction="reverse", h0=True, ort=False),
    rnn("GRU", "sequence_lens reverse in range", seq=4, batch=3, lens=[3, 1, 4], direction="reverse", h0=True),
    rnn("RNN", "sequence_lens bidirectional", seq=4, batch=3, lens=[2, 4, 1], direction="bidirectional"),
    # layout 1
    rnn("LSTM", "layout=1 bidirectional", layout=1, direction="bidirectional", h0=True, c0=True, lens=[3, 2]),
    rnn("GRU", "layout=1", layout=1, h0=True),
    rnn("RNN", "layout=1 reverse", layout=1, direction="reverse", h0=True),
    # activations, with and without parameters; clip
    rnn("LSTM", "activations", acts=["HardSigmoid", "Softsign", "ScaledTanh"], alpha=[0.3, 0.8], beta=[0.4, 1.2]),
    rnn("LSTM", "activations per direction", direction="bidirectional",
        acts=["Sigmoid", "Elu", "Softplus", "HardSigmoid", "Tanh", "Affine"], alpha=[0.7, 0.25, 0.5],
        beta=[0.45, 0.1]),
    rnn("GRU", "activations", acts=["HardSigmoid", "LeakyRelu"], alpha=[0.3, 0.2], beta=[0.5]),
    rnn("RNN", "Relu", acts=["Relu"]),
    rnn("RNN", "ThresholdedRelu", acts=["ThresholdedRelu"], alpha=[0.1]),
    rnn("RNN", "Affine", acts=["Affine"], alpha=[0.6], beta=[-0.2]),
    rnn("LSTM", "clip", clip=0.7, h0=True, c0=True, peep=True),
    rnn("GRU", "clip", clip=0.8, direction="bidirectional"),
    rnn("RNN", "clip", clip=0.5, direction="reverse"),
    # GRU linear_before_reset, LSTM input_forget and peepholes
    rnn("GRU", "linear_before_reset", lbr=1, h0=True),
    rnn("GRU", "linear_before_reset bidirectional lens", lbr=1, direction="bidirectional", seq=4, batch=3,
        lens=[4, 2, 3]),
    rnn("GRU", "linear_before_reset no bias", lbr=1, bias=False),
    rnn("LSTM", "input_forget", input_forget=1, peep=True, h0=True, c0=True),
    rnn("LSTM", "peepholes reverse", peep=True, direction="reverse", c0=True),
    rnn("LSTM", "no bias", bias=False),
    # outputs read or not
    rnn("LSTM", "Y only", outputs=("Y",)),
    rnn("LSTM", "Y_c only", outputs=("Y_c",), c0=True),
    rnn("GRU", "Y_h only", outputs=("Y_h",), direction="bidirectional"),
    rnn("RNN", "Y only", outputs=("Y",)),
    # one step; a long sequence (Split's 64 results per node)
    rnn("LSTM", "one step", seq=1, h0=True),
    rnn("GRU", "70 steps", seq=70, batch=1, inp=2, hidden=2, direction="reverse", outputs=("Y",)),
    # against torch.nn with the weights mapped
    rnn("LSTM", "as torch.nn.LSTM", seq=4, batch=3, h0=True, c0=True, torch_fn=torch_lstm),
    rnn("GRU", "as torch.nn.GRU", seq=4, batch=3, h0=True, lbr=1, outputs=("Y", "Y_h"), torch_fn=torch_gru),
    # with respect to X only (the weights' gradients are not built)
    rnn("LSTM", "wrt X", wrt=["X"], h0=True, c0=True),
    Case("ReverseSequence", "ReverseSequence", [("x", (4, 3, 2)), ("l", (3,), "int64:0:5")],
         lambda t: [torch.stack([torch.cat([t["x"][:int(n), b].flip(0), t["x"][int(n):, b]])
                                 for b, n in enumerate(t["l"].clamp(0, 4))], 1)],
         attrs={"time_axis": 0, "batch_axis": 1}),
]
