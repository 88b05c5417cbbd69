# pyright: strict, reportPrivateUsage=false
# (ctypes itself names its pointer base class _Pointer.)
"""The tour's struct-with-a-callback example (from "Using Ctypes to Call a C Function
That Calls Back a Python Function.") as a typed program: C stores a Python callback in a
struct and calls it with numpy arrays, through fcpytest_callback.c.
"""

from __future__ import annotations

from typing import assert_type

import numpy as np

import ferrotypes.numpy as ctypeslib
from ferrotypes import CDLL, CFUNCTYPE, POINTER, _Pointer, c_double, c_int, c_void_p
from ferrotypes._cbuild import build_shared_library
from ferrotypes.tour._harness import C_SOURCES

# void fn(double complex *y, double t, int n, double *res): complex numbers as 2 doubles
CALLBACK = CFUNCTYPE(None, POINTER(c_double), c_double, c_int, POINTER(c_double))


def main() -> None:
    lib = CDLL(str(build_shared_library([C_SOURCES / "fcpytest_callback.c"], "libcpytest_callback")))
    seen: list[float] = []

    def fn(y: _Pointer[c_double], t: float, n: int, res: _Pointer[c_double]) -> None:
        values = ctypeslib.as_array(y, shape=(2 * n,))
        seen.append(float(values.sum()) + t)
        res[0] = t * n

    callback = CALLBACK(fn)
    lib.init_pars.restype = c_void_p
    lib.init_pars.argtypes = [c_int, CALLBACK]
    pars = lib.init_pars(2, callback)
    assert_type(c_void_p(pars).value, int | None)

    y = np.array([1 + 2j, 3 + 4j])
    res = c_double(0.0)
    lib.fcpytest.argtypes = [c_void_p, ctypeslib.ndpointer(np.complex128, flags="C"),
                             c_double, POINTER(c_double)]
    lib.fcpytest(pars, y, 0.5, res)
    assert seen == [10.5], seen
    assert res.value == 1.0
    libc = CDLL(None)
    libc.free.argtypes = [c_void_p]
    libc.free(pars)


if __name__ == "__main__":
    main()
    print("callbacks_in_c_structs: ok")
