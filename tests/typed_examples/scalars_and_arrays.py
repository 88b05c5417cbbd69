# pyright: strict, reportPrivateUsage=false
# (ctypes itself names its pointer base class _Pointer.)
"""The tour's scalars-and-arrays examples (from "Python and C interaction: Part II -
Ctypes") as a typed program, on the tour's libmymath (add_two.c and arrays.c).
"""

from __future__ import annotations

from typing import assert_type

import numpy as np

from ferrotypes import CDLL, POINTER, byref, c_float, c_int, cast
from ferrotypes._cbuild import build_shared_library
from ferrotypes.tour._harness import C_SOURCES


def main() -> None:
    path = build_shared_library([C_SOURCES / "add_two.c", C_SOURCES / "arrays.c"], "libmymath")
    lib = CDLL(str(path))
    assert lib.add_int(4, 5) == 9

    add_float = lib.add_float
    add_float.restype = c_float
    add_float.argtypes = [c_float, c_float]
    assert add_float(5.3, 4.1) == c_float(9.4).value

    x, y, z = c_int(5), c_int(10), c_int(0)
    lib.add_int_ref(byref(x), byref(y), byref(z))
    assert_type(z.value, int)
    assert z.value == 15

    IntArray3 = c_int * 3
    a, b, c = IntArray3(1, 2, 3), IntArray3(-1, -2, -3), IntArray3()
    lib.add_int_array(byref(a), byref(b), byref(c), 3)
    assert_type(c[0], int)
    assert list(c) == [0, 0, 0]

    # numpy's stubs type ndarray.ctypes.data_as for the standard library's ctypes
    # types; with ferrotypes, cast the data address instead (the same pointer).
    arr = np.array([1, 2, 3], dtype=np.int32)
    data = cast(arr.ctypes.data, POINTER(c_int))
    assert_type(data[0], int)
    assert lib.dot_product(data, data, 3) == 14


if __name__ == "__main__":
    main()
    print("scalars_and_arrays: ok")
