"""ctypes declarations of libhodu_rt's public structs (include/hodu_rt.h,
include/hodu_abi.h) for the tests that drive the C API from Python
(tests/strings, tests/images).  They must follow the headers field for
field: a struct that is too short makes C read past the caller's memory."""

from __future__ import annotations

import ctypes as C

MAX_RANK = 8  # HODU_MAX_RANK
ERR_INVALID_ARG = 1  # HODU_ERR_INVALID_ARG

TASK_FN = C.CFUNCTYPE(None, C.c_void_p, C.c_uint32, C.c_uint32)
PFOR_FN = C.CFUNCTYPE(None, C.c_void_p, C.c_uint32, TASK_FN, C.c_void_p)
ALLOC_FN = C.CFUNCTYPE(C.c_void_p, C.c_void_p, C.c_uint64)
DECODE_FN = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p, C.c_uint64, C.c_int32, ALLOC_FN, C.c_void_p,
                        C.POINTER(C.c_void_p), C.POINTER(C.c_int64))


class Tensor(C.Structure):  # hodu_tensor
    _fields_ = [("dtype", C.c_int), ("rank", C.c_int32), ("dims", C.c_int64 * MAX_RANK),
                ("data", C.c_void_p), ("nbytes", C.c_size_t)]


class Error(C.Structure):  # hodu_error
    _fields_ = [("code", C.c_int), ("message", C.c_char * 512)]


class Exec(C.Structure):  # hodu_exec
    _fields_ = [("n_workers", C.c_uint32), ("pool", C.c_void_p), ("parallel_for", C.c_void_p),
                ("alloc_ctx", C.c_void_p), ("alloc", C.c_void_p), ("decode_ctx", C.c_void_p),
                ("decode_image", C.c_void_p), ("profile_ctx", C.c_void_p), ("profile_step", C.c_void_p)]


class Options(C.Structure):  # hodu_instance_options
    _fields_ = [("n_threads", C.c_uint32), ("exec", C.POINTER(Exec)), ("workspace", C.c_void_p),
                ("workspace_bytes", C.c_size_t), ("arena", C.c_void_p), ("arena_bytes", C.c_size_t)]


def load(path: str) -> C.CDLL:
    """libhodu_rt with the argument types of the calls the tests make."""
    rt = C.CDLL(path)
    rt.hodu_model_open.argtypes = [C.c_char_p, C.POINTER(C.c_void_p), C.POINTER(Error)]
    rt.hodu_instance_create.argtypes = [C.c_void_p, C.POINTER(C.c_void_p), C.POINTER(Error)]
    rt.hodu_instance_create_with.argtypes = [C.c_void_p, C.POINTER(Options), C.POINTER(C.c_void_p),
                                             C.POINTER(Error)]
    rt.hodu_instance_run.argtypes = [C.c_void_p, C.POINTER(Tensor), C.c_size_t, C.POINTER(Tensor), C.c_size_t,
                                     C.POINTER(Error)]
    rt.hodu_instance_destroy.argtypes = [C.c_void_p]
    rt.hodu_model_close.argtypes = [C.c_void_p]
    rt.hodu_tensor_alloc.argtypes = [C.POINTER(Tensor), C.c_int, C.c_int32, C.POINTER(C.c_int64), C.POINTER(Error)]
    rt.hodu_tensor_free.argtypes = [C.POINTER(Tensor)]
    # training (hodu_rt.h, "training")
    rt.hodu_trainer_create.argtypes = [C.c_void_p, C.POINTER(Options), C.POINTER(C.c_void_p), C.POINTER(Error)]
    rt.hodu_trainer_destroy.argtypes = [C.c_void_p]
    rt.hodu_trainer_num_inputs.argtypes = [C.c_void_p]
    rt.hodu_trainer_num_inputs.restype = C.c_size_t
    rt.hodu_trainer_step.argtypes = [C.c_void_p, C.POINTER(Tensor), C.c_size_t, C.c_float, C.POINTER(C.c_float),
                                     C.POINTER(Error)]
    rt.hodu_trainer_num_state.argtypes = [C.c_void_p]
    rt.hodu_trainer_num_state.restype = C.c_size_t
    rt.hodu_trainer_get.argtypes = [C.c_void_p, C.c_char_p, C.POINTER(Tensor), C.POINTER(Error)]
    rt.hodu_trainer_set.argtypes = [C.c_void_p, C.c_char_p, C.POINTER(Tensor), C.POINTER(Error)]
    rt.hodu_trainer_save.argtypes = [C.c_void_p, C.c_char_p, C.POINTER(Error)]
    rt.hodu_trainer_load.argtypes = [C.c_void_p, C.c_char_p, C.POINTER(Error)]
    rt.hodu_trainer_attach_eval.argtypes = [C.c_void_p, C.c_void_p, C.POINTER(Options), C.POINTER(Error)]
    rt.hodu_trainer_eval.argtypes = [C.c_void_p, C.POINTER(Tensor), C.c_size_t, C.POINTER(Tensor), C.c_size_t,
                                     C.POINTER(Error)]
    return rt


DTYPES = {"float32": 1, "int64": 7, "float64": 11, "bool": 9, "int32": 6, "uint8": 2}


def tensor(a) -> Tensor:
    """A hodu_tensor viewing numpy array `a` (C-contiguous; keep `a` alive)."""
    t = Tensor()
    t.dtype = DTYPES[str(a.dtype)]
    t.rank = a.ndim
    for i, d in enumerate(a.shape):
        t.dims[i] = d
    t.data = a.ctypes.data
    t.nbytes = a.nbytes
    return t


class Checks:
    """Counts failed checks, printing each: `ok   what` or `FAIL what`."""

    def __init__(self) -> None:
        self.failures = 0

    def __call__(self, cond: bool, what: str) -> None:
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            self.failures += 1
