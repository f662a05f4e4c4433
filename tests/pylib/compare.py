"""Output comparison shared by the shell-driven tests."""
import numpy as np


def relative_error(got, ref) -> float:
    """The largest absolute difference relative to ref's largest magnitude;
    integer and boolean outputs must be equal (0.0, else 1.0); a shape
    mismatch is infinite."""
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape:
        return float("inf")
    if ref.dtype.kind in "iub":
        return 0.0 if np.array_equal(got, ref) else 1.0
    return float(np.max(np.abs(got.astype(np.float64) - ref), initial=0.0)) / max(float(np.max(np.abs(ref), initial=0.0)), 1e-30)
