# pyright: strict, reportPrivateUsage=false
# (ctypes itself names its pointer base class _Pointer.)
"""The tour's qsort example (from the ctypes documentation's "Callback functions") as a
typed program: libc's qsort sorting a ferrotypes array with a Python comparator.
"""

from __future__ import annotations

from typing import assert_type

from ferrotypes import CDLL, CFUNCTYPE, POINTER, _Pointer, c_int, c_size_t, sizeof
from ferrotypes.util import find_library

CMPFUNC = CFUNCTYPE(c_int, POINTER(c_int), POINTER(c_int))


def py_cmp_func(a: _Pointer[c_int], b: _Pointer[c_int]) -> int:
    assert_type(a[0], int)
    return a[0] - b[0]


def main() -> None:
    libc = CDLL(find_library("c"))
    qsort = libc.qsort
    qsort.restype = None
    values = (c_int * 5)(5, 1, 7, 33, 99)
    comparator = CMPFUNC(py_cmp_func)
    qsort(values, len(values), sizeof(c_int), comparator)
    assert_type(list(values), list[int])
    assert list(values) == [1, 5, 7, 33, 99], list(values)
    assert c_size_t(len(values)).value == 5


if __name__ == "__main__":
    main()
    print("qsort_callback: ok")
