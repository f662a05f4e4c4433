#!/usr/bin/env python3
"""HoduScript programs that declare their own training, against PyTorch.

tests/script/train_mlp.hodu and train_cnn.hodu each end with a train
declaration (`train model.loss with adamw(...)`).  Built with `hodu --build
--train` and no other flag, the step is driven through libhodu_rt's
hodu_trainer (tests/train/check_training.py's Trainer, over ctypes); a
PyTorch twin starts from the parameters the library holds (the declared
initializers) and both take N steps over the same batches with a learning
rate that changes every step.  Losses must agree within 1e-3 relative at
every step, and the parameters at the end.  Other cases swap the
declaration line: each loss of std/nn (cross_entropy, soft_cross_entropy,
mse_loss, l1_loss, bce_with_logits), SGD, Adam and AdamW with their
settings, clipping, and freeze=[...] (the frozen parameters are no inputs
of the step and keep their values).

Then the rule for flags: the MLP without its declaration, built with the
equivalent --loss/--optimizer/--clip-norm flags, takes the same steps
(1e-5 relative); with its declaration, any of those flags is refused with
an error at the declaration.

    run_training.py --hodu build/hodu [--rt build/libhodu_rt.so] [-k SUBSTRING] [--steps N]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "train"))
sys.path.insert(0, os.path.join(REPO, "tests", "pylib"))
import check_training as ct  # noqa: E402
import hodurt  # noqa: E402

B, D, H, K = 16, 10, 12, 4  # train_mlp.hodu: Classifier(10, 12, 4), batch B
N = 8                       # train_cnn.hodu: Net(5) on [N, 1, 8, 8]


def mlp_fwd(p, x):
    return F.relu(x @ p["fc1.weight"].T + p["fc1.bias"]) @ p["fc2.weight"].T + p["fc2.bias"]


def cnn_fwd(p, x):
    h = F.max_pool2d(F.relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"], padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, p["conv2.weight"], p["conv2.bias"], padding=1)), 2)
    return h.flatten(1) @ p["fc.weight"].T + p["fc.bias"]


PROGRAMS = {
    "mlp": ("train_mlp.hodu", mlp_fwd, (B, D), K, "B=16",
            {"fc1.weight": (H, D), "fc1.bias": (H,), "fc2.weight": (K, H), "fc2.bias": (K,)}),
    "cnn": ("train_cnn.hodu", cnn_fwd, (N, 1, 8, 8), 5, "N=8",
            {"conv1.weight": (4, 1, 3, 3), "conv1.bias": (4,), "conv2.weight": (8, 4, 3, 3), "conv2.bias": (8,),
             "fc.weight": (5, 32), "fc.bias": (5,)}),
}

# The module's loss functions: PyTorch's loss and the target each reads.
LOSSES = {
    "loss": (lambda y, t: F.cross_entropy(y, t), "labels"),
    "soft_loss": (lambda y, t: F.cross_entropy(y, t), "probs"),
    "mse": (lambda y, t: F.mse_loss(y, t), "normal"),
    "l1": (lambda y, t: F.l1_loss(y, t), "normal"),
    "bce": (lambda y, t: F.binary_cross_entropy_with_logits(y, t), "bits"),
}

# (program, the declaration, or None for the file's own; optimizer as
# check_training.py's torch_optimizer spells it; clip; frozen names)
CASES = [
    ("mlp", None, "adamw:weight_decay=0.05", 1.0, []),
    ("mlp", "train model.loss with sgd(momentum=0.9, weight_decay=0.001)", "sgd:momentum=0.9,weight_decay=0.001",
     None, []),
    ("mlp", "train model.soft_loss with adam(beta1=0.8, beta2=0.99, eps=0.000001)", "adam:beta1=0.8,beta2=0.99,eps=1e-6",
     None, []),
    ("mlp", "train model.mse with adamw()", "adamw", None, []),
    ("mlp", "train model.l1 with sgd(momentum=0.5, clip_norm=0.5)", "sgd:momentum=0.5", 0.5, []),
    ("mlp", "train model.bce with adam(weight_decay=0.01)", "adam:weight_decay=0.01", None, []),
    ("mlp", 'train model.loss with sgd(momentum=0.9, freeze=["fc1"])', "sgd:momentum=0.9", None,
     ["fc1.weight", "fc1.bias"]),
    ("mlp", 'train model.loss with adamw(freeze=["fc2.bias"])', "adamw", None, ["fc2.bias"]),
    ("cnn", None, "sgd:momentum=0.9,weight_decay=0.0005", None, []),
    ("cnn", "train model.loss with adamw(weight_decay=0.01, clip_norm=2.0)", "adamw:weight_decay=0.01", 2.0, []),
]


def source(prog, decl):
    """The program's text with its train declaration replaced (None: kept;
    "": removed)."""
    with open(os.path.join(HERE, PROGRAMS[prog][0])) as f:
        text = f.read()
    if decl is None:
        return text
    out, n = re.subn(r"^train .*?(?:\n(?:    .*\n)*\))?$", decl, text, count=1, flags=re.M)
    assert n == 1, "no train declaration to replace"
    return out


def target(rng, kind, shape):
    if kind == "labels":
        return rng.integers(0, shape[1], shape[0]).astype(np.int64)
    if kind == "probs":
        e = np.exp(rng.standard_normal(shape))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    if kind == "bits":
        return (rng.random(shape) < 0.5).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def build(hodu, work, name, text, flags):
    path = os.path.join(work, f"{name}.hodu")
    with open(path, "w") as f:
        f.write(text)
    so = os.path.join(work, f"{name}.so")
    ct.sh([hodu, "--build", path, "--train", "--dim", PROGRAMS[name.split("-")[0]][4], "-o", so] + flags)
    return so


def train(rt, so, prog, lossfn, spec, clip, steps, init=None, frozen=()):
    """Steps the library and the PyTorch twin; returns (problem or None,
    worst relative loss difference).  The twin starts from the trainer's
    parameters, or from init where given (frozen: constants of the step,
    which the trainer must not hold)."""
    _, fwd, xshape, nout, _, shapes = PROGRAMS[prog]
    torch_loss, tkind = LOSSES[lossfn]
    tr = ct.Trainer(rt, so)
    worst = 0.0
    try:
        for k in frozen:
            try:
                tr.get(k, init[k])
                return f"frozen {k} is still a trained parameter", worst
            except RuntimeError:
                pass
        start = init or {k: tr.get(k, np.zeros(sh, np.float32)) for k, sh in shapes.items()}
        tp = {k: torch.tensor(v, requires_grad=k not in frozen) for k, v in start.items()}
        opt = ct.torch_optimizer(spec, [v for v in tp.values() if v.requires_grad])
        rng = np.random.default_rng(3)
        for step in range(steps):
            x = rng.standard_normal(xshape).astype(np.float32)
            t = target(rng, tkind, (xshape[0], nout))
            lr = np.float32((0.05 if spec.startswith("sgd") else 0.01) * 0.98 ** step)
            got = tr.step([x, t], lr)
            ref = ct.torch_step(opt, tp, lr, clip, lambda: torch_loss(fwd(tp, torch.tensor(x)), torch.tensor(t)))
            err = abs(got - ref) / max(abs(ref), 1e-6)
            worst = max(worst, err)
            if not err <= ct.TOL:
                return f"step {step}: loss {got:.7g}, PyTorch {ref:.7g} (relative error {err:.1e})", worst
        for k, v in tp.items():
            want = v.detach().numpy()
            have = tr.get(k, want) if k not in frozen else start[k]
            err = float(np.abs(have - want).max()) / max(float(np.abs(want).max()), 1e-6)
            if not err <= ct.TOL:
                return f"after {steps} steps, {k} differs from PyTorch's by {err:.1e} (relative)", worst
    finally:
        tr.close()
    return None, worst


def frozen_case(hodu, rt, work, prog, text, spec, clip, frozen, steps):
    """freeze=[...]: the frozen parameters are constants of the step (their
    declared initializers, which a build without freeze holds too)."""
    shapes = PROGRAMS[prog][5]
    so = build(hodu, work, f"{prog}-frozen", text, [])
    full = build(hodu, work, f"{prog}-all", source(prog, "train model.loss with sgd()"), [])
    tf = ct.Trainer(rt, full)
    init = {k: tf.get(k, np.zeros(s, np.float32)) for k, s in shapes.items()}
    tf.close()
    return train(rt, so, prog, "loss", spec, clip, steps, init, frozen)


def flags_cases(hodu, rt, work, steps):
    """The MLP's declaration against the same step from flags; flags beside
    a declaration refused."""
    problems = []
    declared = build(hodu, work, "mlp-declared", source("mlp", None), [])
    bare = source("mlp", "")
    flagged = build(hodu, work, "mlp-flags", bare, ["--loss", "cross_entropy", "--optimizer",
                                                       "adamw:weight_decay=0.05", "--clip-norm", "1.0"])
    rng = np.random.default_rng(11)
    a, b = ct.Trainer(rt, declared), ct.Trainer(rt, flagged)
    worst = 0.0
    try:
        for step in range(steps):
            x = rng.standard_normal((B, D)).astype(np.float32)
            t = target(rng, "labels", (B, K))
            la, lb = a.step([x, t], 0.01), b.step([x, t], 0.01)
            err = abs(la - lb) / max(abs(lb), 1e-6)
            worst = max(worst, err)
            if not err <= 1e-5:
                problems.append(f"step {step}: declared loss {la:.7g}, flags {lb:.7g} (relative error {err:.1e})")
                break
    finally:
        a.close()
        b.close()
    path = os.path.join(work, "mlp-declared.hodu")
    line = 1 + next(i for i, l in enumerate(source("mlp", None).splitlines()) if l.startswith("train "))
    for flag in (["--loss", "mse"], ["--optimizer", "sgd"], ["--clip-norm", "2"], ["--train-param", "fc1.weight"]):
        r = subprocess.run([hodu, "--build", path, "--train", "--dim", "B=16", "-o", os.path.join(work, "x.so")]
                           + flag, capture_output=True, text=True, timeout=300)
        if r.returncode != 1 or f"{flag[0]} conflicts with this train declaration" not in r.stderr:
            problems.append(f"{flag[0]} beside the declaration: exit {r.returncode}, {r.stderr.strip()!r}")
        elif f"mlp-declared.hodu:{line}:1:" not in r.stderr or "^~~~" not in r.stderr:
            problems.append(f"{flag[0]}: the error does not point at the declaration: {r.stderr.strip()!r}")
    if os.path.exists(os.path.join(work, "x.so")):
        problems.append("a refused build left its library behind")
    return problems, worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hodu", required=True)
    ap.add_argument("--rt", default=os.path.join(REPO, "build", "libhodu_rt.so"))
    ap.add_argument("-k", default="")
    ap.add_argument("--steps", type=int, default=60)
    a = ap.parse_args()
    torch.manual_seed(0)
    rt = hodurt.load(a.rt)
    work = tempfile.mkdtemp(prefix="hodu-script-train-")
    failed = total = 0
    try:
        for i, (prog, decl, spec, clip, frozen) in enumerate(CASES):
            text = source(prog, decl)
            line = next(l for l in text.splitlines() if l.startswith("train "))
            label = f"{prog}: {line.strip()}" + (" ..." if line.rstrip().endswith("(") else "")
            if a.k not in label:
                continue
            total += 1
            fn = re.match(r"train model\.(\w+)", line).group(1)
            try:
                if frozen:
                    problem, worst = frozen_case(a.hodu, rt, work, prog, text, spec, clip, frozen, a.steps)
                else:
                    so = build(a.hodu, work, f"{prog}-{i}", text, [])
                    problem, worst = train(rt, so, prog, fn, spec, clip, a.steps)
            except RuntimeError as e:
                problem, worst = str(e), float("nan")
            if problem:
                failed += 1
                print(f"FAIL {label}: {problem}")
            else:
                print(f"ok {label}: {a.steps} steps, worst relative loss difference {worst:.1e}")
        if a.k in "flags":
            total += 1
            try:
                problems, worst = flags_cases(a.hodu, rt, work, a.steps)
            except RuntimeError as e:
                problems, worst = [str(e)], float("nan")
            for p in problems:
                print(f"FAIL flags: {p}")
            if not problems:
                print(f"ok flags: the declaration and the same flags take the same {a.steps} steps (worst "
                      f"{worst:.1e}); --loss, --optimizer, --clip-norm and --train-param beside it are refused")
            failed += bool(problems)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"script_training: {total - failed} of {total} cases pass")
    return 1 if failed or not total else 0


if __name__ == "__main__":
    sys.exit(main())
