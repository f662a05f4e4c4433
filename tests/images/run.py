#!/usr/bin/env python3
"""ImageDecoder and libhodu_rt's image decoder (ctypes), beyond the node tests.

The oracle is Pillow, which the ONNX reference's ImageDecoder uses: every
image below is written by Pillow and decoded by it (convert("RGB") for
RGB and, flipped, BGR; convert("L") for Grayscale; the reference itself
where its output has the spec's shape).  Checked:
- hodu_decode_image on each format and several variants of it (sizes that
  are no multiple of the JPEG block, progressive and grayscale JPEG,
  palette, gray, 1-bit, alpha and interlaced PNG, lossy and lossless WebP,
  deflate TIFF, JP2 and raw J2K, BMP, PPM, PGM) gives Pillow's pixels
  exactly in the three pixel formats;
- truncated, corrupt, unknown and oversized images, and an allocator that
  returns NULL, fail with a message naming the format, never a crash;
- a model built by the real `hodu` runs through libhodu_rt with the
  decoder the instance lends, and with a host hodu_exec that lends none it
  fails with "the host lent no image decoder"; a corrupt image fails with
  the node's name and the decoder's reason.

    run.py --hodu build/hodu --rt build/libhodu_rt.so
"""

from __future__ import annotations

import argparse
import ctypes as C
import io
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from hodurt import (ALLOC_FN, DECODE_FN, ERR_INVALID_ARG, MAX_RANK, PFOR_FN, TASK_FN, Checks, Error,  # noqa: E402,F401
                    Exec, Options, Tensor, load)
from onnx.reference import ReferenceEvaluator
from PIL import Image

RGB, BGR, GRAY = 0, 1, 2







check = Checks()


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def pillow_pixels(data: bytes, pf: int) -> np.ndarray:
    img = Image.open(io.BytesIO(data))
    if pf == GRAY:
        return np.asarray(img.convert("L"))[:, :, None]
    rgb = np.asarray(img.convert("RGB"))
    return rgb[:, :, ::-1] if pf == BGR else rgb


def images() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(7)
    # smooth gradients plus noise: JPEG's and WebP's lossy paths do real work
    h, w = 37, 53
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 255 // (w + h)], axis=2)
    rgb = np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)
    im = Image.fromarray(rgb, "RGB")
    rgba = Image.fromarray(np.concatenate([rgb, rng.integers(0, 256, (h, w, 1), dtype=np.uint8)], axis=2), "RGBA")
    gray = im.convert("L")
    out = [
        ("jpeg", encode(im, "JPEG", quality=85)),
        ("jpeg 4:4:4", encode(im, "JPEG", quality=95, subsampling=0)),
        ("jpeg progressive", encode(im, "JPEG", quality=75, progressive=True)),
        ("jpeg grayscale", encode(gray, "JPEG", quality=90)),
        ("png", encode(im, "PNG")),
        ("png rgba", encode(rgba, "PNG")),
        ("png palette", encode(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=37), "PNG")),
        ("png gray", encode(gray, "PNG")),
        ("png 1-bit", encode(gray.convert("1"), "PNG")),
        ("png interlaced", encode(im, "PNG", interlace=1)),
        ("webp lossy", encode(im, "WEBP", quality=80)),
        ("webp lossless", encode(im, "WEBP", lossless=True)),
        ("tiff", encode(im, "TIFF")),
        ("tiff deflate", encode(im, "TIFF", compression="tiff_adobe_deflate")),
        ("jpeg 2000 jp2", encode(im, "JPEG2000")),
        ("jpeg 2000 j2k", encode(im, "JPEG2000", no_jp2=True)),
        ("bmp", encode(im, "BMP")),
        ("ppm", encode(im, "PPM")),
        ("pgm", encode(gray, "PPM")),
    ]
    return out


class Decoder:
    """hodu_decode_image called directly, its output in Python-owned memory."""

    def __init__(self, rt):
        self.rt = rt
        self.fn = rt.hodu_decode_image
        self.fn.restype = C.c_int
        self.fn.argtypes = [C.c_void_p, C.c_char_p, C.c_uint64, C.c_int32, ALLOC_FN, C.c_void_p,
                            C.POINTER(C.c_void_p), C.POINTER(C.c_int64)]
        self.bufs = []
        self.refuse = False
        self.alloc = ALLOC_FN(self._alloc)

    def _alloc(self, ctx, n):
        if self.refuse:
            return None
        b = C.create_string_buffer(max(1, n))
        self.bufs.append(b)
        return C.cast(b, C.c_void_p).value

    def __call__(self, data: bytes, pf: int):
        err = Error()
        px = C.c_void_p()
        dims = (C.c_int64 * 3)(-1, -1, -1)
        rc = self.fn(C.byref(err), data, len(data), pf, self.alloc, None, C.byref(px), dims)
        if rc != 0:
            return None, err.message.decode()
        shape = tuple(dims)
        arr = np.ctypeslib.as_array(C.cast(px, C.POINTER(C.c_uint8)), (int(np.prod(shape)),)).reshape(shape).copy()
        self.bufs.clear()
        return arr, ""


def build(hodu: str, nbytes: int, pf: str, path: str) -> str:
    m = helper.make_model(helper.make_graph(
        [helper.make_node("ImageDecoder", ["data"], ["pixels"], name="dec", pixel_format=pf)], "dec",
        [helper.make_tensor_value_info("data", TensorProto.UINT8, [nbytes])],
        [helper.make_tensor_value_info("pixels", TensorProto.UINT8, None)]),
        opset_imports=[helper.make_opsetid("", 20)])
    with open(path + ".onnx", "wb") as f:
        f.write(m.SerializeToString())
    subprocess.run([hodu, "--build", path + ".onnx", "-o", path + ".so"], check=True)
    return path + ".so", m


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hodu", required=True)
    ap.add_argument("--rt", required=True)
    a = ap.parse_args()
    rt = load(os.path.abspath(a.rt))
    dec = Decoder(rt)

    # Every format and variant, every pixel format, against Pillow.
    cases = images()
    for name, data in cases:
        for pf, pfn in ((RGB, "RGB"), (BGR, "BGR"), (GRAY, "Grayscale")):
            got, msg = dec(data, pf)
            want = pillow_pixels(data, pf)
            same = got is not None and got.shape == want.shape and (got == want).all()
            detail = msg if got is None else (f"max diff {np.abs(got.astype(int) - want).max()}"
                                              if got.shape == want.shape else f"shape {got.shape} vs {want.shape}")
            check(same, f"{name}, {pfn}: Pillow's pixels exactly" + ("" if same else f" ({detail})"))

    # Failures: a message naming the format, never a crash.
    formats = {"jpeg": "JPEG", "png": "PNG", "webp lossy": "WebP", "tiff": "TIFF", "jpeg 2000 jp2": "JPEG 2000",
               "jpeg 2000 j2k": "JPEG 2000", "bmp": "BMP", "ppm": "PNM"}
    data_of = dict(cases)
    for name, fmt in formats.items():
        data = data_of[name]
        for cut in (len(data) // 2, len(data) - 3 if name != "tiff" else len(data) // 3, 20):
            got, msg = dec(data[:cut], RGB)
            check(got is None and f"the image could not be decoded: {fmt}: " in msg,
                  f"{name} cut to {cut} of {len(data)} bytes: {msg}")
    bad = bytearray(data_of["png"])
    bad[40] ^= 0xFF  # inside IDAT: its CRC no longer matches
    got, msg = dec(bytes(bad), RGB)
    check(got is None and "PNG: " in msg, f"a corrupt PNG: {msg}")
    for what, data in (("random bytes", bytes(np.random.default_rng(1).integers(0, 256, 300, dtype=np.uint8))),
                       ("no bytes", b"")):
        got, msg = dec(data, RGB)
        check(got is None and "no image format this decoder reads" in msg, f"{what}: {msg}")
    # a PNG header claiming 100000 x 100000 pixels: refused before any allocation
    big = bytearray(data_of["png"])
    big[16:24] = (100000).to_bytes(4, "big") + (100000).to_bytes(4, "big")
    big[29:33] = zlib.crc32(bytes(big[12:29])).to_bytes(4, "big")
    got, msg = dec(bytes(big), RGB)
    check(got is None and "more than the" in msg, f"100000 x 100000 pixels: {msg}")
    dec.refuse = True
    got, msg = dec(data_of["png"], RGB)
    dec.refuse = False
    check(got is None and "no memory from the host's allocator" in msg, f"an allocator returning NULL: {msg}")

    # Through libhodu_rt, a model built by the real hodu.
    with tempfile.TemporaryDirectory(prefix="hodu-images-") as tmp:
        data = data_of["jpeg"]
        so, model = build(a.hodu, len(data), "BGR", os.path.join(tmp, "dec"))
        err = Error()
        m = C.c_void_p()
        assert rt.hodu_model_open(so.encode(), C.byref(m), C.byref(err)) == 0, err.message

        def run(inst, payload: bytes):
            buf = (C.c_uint8 * len(payload)).from_buffer_copy(payload)
            x = Tensor(2, 1, (C.c_int64 * MAX_RANK)(len(payload)), C.cast(buf, C.c_void_p), len(payload))
            out = Tensor(2, 3, (C.c_int64 * MAX_RANK)(), None, 0)
            rc = rt.hodu_instance_run(inst, C.byref(x), 1, C.byref(out), 1, C.byref(err))
            if rc != 0:
                return rc, None
            shape = tuple(out.dims[i] for i in range(3))
            arr = np.ctypeslib.as_array(C.cast(out.data, C.POINTER(C.c_uint8)), (int(np.prod(shape)),))
            return rc, arr.reshape(shape).copy()

        inst = C.c_void_p()
        assert rt.hodu_instance_create(m, C.byref(inst), C.byref(err)) == 0, err.message
        rc, got = run(inst, data)
        want = ReferenceEvaluator(model).run(None, {"data": np.frombuffer(data, np.uint8)})[0]
        check(rc == 0 and got.shape == want.shape and (got == want).all(),
              f"a model through libhodu_rt decodes as the ONNX reference does ({got.shape if got is not None else err.message})")
        corrupt = bytearray(data)
        corrupt[len(data) // 2:] = bytes(len(data) - len(data) // 2)  # the scan turns to zeros, no EOI
        rc, _ = run(inst, bytes(corrupt))
        msg = err.message.decode()
        check(rc == ERR_INVALID_ARG and "node 'dec' (ImageDecoder): the image could not be decoded: JPEG: " in msg,
              f"a corrupt image through libhodu_rt: {msg}")
        rc, got = run(inst, data)
        check(rc == 0 and (got == want).all(), "the instance runs again after a failure")
        rt.hodu_instance_destroy(inst)

        # A host's own hodu_exec: no decoder lent, then libhodu_rt's.
        def serial(pool, n, fn, ctx):
            for t in range(n):
                fn(ctx, t, 0)

        task_fn = C.CFUNCTYPE(None, C.c_void_p, C.c_uint32, C.c_uint32)
        pfor = C.CFUNCTYPE(None, C.c_void_p, C.c_uint32, task_fn, C.c_void_p)(serial)
        ex = Exec(1, None, C.cast(pfor, C.c_void_p), None, None, None, None)
        opts = Options(1, C.pointer(ex), None, 0)
        inst = C.c_void_p()
        assert rt.hodu_instance_create_with(m, C.byref(opts), C.byref(inst), C.byref(err)) == 0, err.message
        rc, _ = run(inst, data)
        msg = err.message.decode()
        check(rc == ERR_INVALID_ARG and "node 'dec' (ImageDecoder): the host lent no image decoder" in msg,
              f"a host that lends no decoder: {msg}")
        rt.hodu_instance_destroy(inst)
        ex.decode_image = C.cast(rt.hodu_decode_image, C.c_void_p)
        inst = C.c_void_p()
        assert rt.hodu_instance_create_with(m, C.byref(opts), C.byref(inst), C.byref(err)) == 0, err.message
        rc, got = run(inst, data)
        check(rc == 0 and (got == want).all(), "a host lending hodu_decode_image itself")
        rc, _ = run(inst, bytes(corrupt))
        msg = err.message.decode()
        check(rc == ERR_INVALID_ARG and "node 'dec' (ImageDecoder): the image could not be decoded" in msg,
              f"... and a corrupt image there (no reason: no decode_ctx): {msg}")
        rt.hodu_instance_destroy(inst)
        rt.hodu_model_close(m)
    print(f"images: {check.failures} failures")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
