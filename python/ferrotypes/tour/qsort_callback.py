"""Callbacks: qsort with a Python comparator, from the ctypes documentation's
"Callback functions".

libc's ``qsort`` sorting a ctypes array with a Python comparison function made by
``CFUNCTYPE(c_int, POINTER(c_int), POINTER(c_int))``, in the documentation's three
steps.  Which pairs qsort compares, and in which order, belongs to the C library (the
documentation shows Windows and an old glibc), so the comparisons printed are checked
against those the standard library's ctypes sees with the same libc and comparator.

The last example declares nothing by hand: ``include("stdlib.h")`` reads qsort's
declaration as this machine's C compiler sees it, and the comparator parameter, a
function-pointer type in the header, takes the Python function itself.

Its closing note stands for every example with a callback: keep a reference to a
CFUNCTYPE object for as long as C code may call it.  ctypes does not, and a callback
collected while C still holds it crashes the program when C calls it.
"""

import re

from ferrotypes import *  # the documentation's "from ctypes import *"
from ferrotypes.util import find_library

import ferrotypes
from ferrotypes.tour._harness import captured_output, check, example, expect, stdlib_qsort_comparisons

#: The comparisons the documentation shows "on linux" for the second and third steps.
_DOCS_LINUX = {
    "zero": [(5, 1), (33, 99), (7, 33), (5, 7), (1, 7)],
    "difference": [(5, 1), (33, 99), (7, 33), (1, 7), (5, 7)],
}


def _check_comparisons(printed, values, compare, docs_key):
    expected = stdlib_qsort_comparisons(values, compare)
    check(printed == expected,
          f"the callback saw the comparisons {printed}; stdlib ctypes sees {expected} with this libc")
    if docs_key is not None:
        same = "the same as" if printed == _DOCS_LINUX[docs_key] else "different from"
        print(f"(this libc compares {same} the documentation's Linux listing)")


@example("qsort", "qsort with a Python callback: first print the pointer arguments",
         requires=["arrays", "pointers", "callbacks"])
def qsort_print_pointers() -> None:
    libc = cdll.LoadLibrary(find_library("c"))  # the documentation's libc
    IntArray5 = c_int * 5
    ia = IntArray5(5, 1, 7, 33, 99)
    qsort = libc.qsort
    qsort.restype = None

    CMPFUNC = CFUNCTYPE(c_int, POINTER(c_int), POINTER(c_int))

    def py_cmp_func(a, b):
        print("py_cmp_func", a, b)
        return 0

    cmp_func = CMPFUNC(py_cmp_func)

    with captured_output() as out:
        qsort(ia, len(ia), sizeof(c_int), cmp_func)

    pointer = r"<[\w.]*LP_c_int object at 0x[0-9a-fA-F]+>"
    for line in out.lines():
        check(re.fullmatch(f"py_cmp_func {pointer} {pointer}", line) is not None,
              f"expected 'py_cmp_func <...LP_c_int object at 0x...> <...>', got {line!r}")
    expected = stdlib_qsort_comparisons([5, 1, 7, 33, 99], lambda a, b: 0)
    check(len(out.lines()) == len(expected),
          f"the callback was called {len(out.lines())} times; stdlib ctypes calls it {len(expected)} times")


@example("qsort", "qsort with a Python callback: print the values the pointers point to",
         requires=["arrays", "pointers", "callbacks"])
def qsort_print_values() -> None:
    libc = cdll.LoadLibrary(find_library("c"))
    IntArray5 = c_int * 5
    ia = IntArray5(5, 1, 7, 33, 99)
    qsort = libc.qsort
    qsort.restype = None
    CMPFUNC = CFUNCTYPE(c_int, POINTER(c_int), POINTER(c_int))

    def py_cmp_func(a, b):
        print("py_cmp_func", a[0], b[0])
        return 0

    cmp_func = CMPFUNC(py_cmp_func)

    with captured_output() as out:
        qsort(ia, len(ia), sizeof(c_int), cmp_func)

    printed = [tuple(map(int, line.split()[1:])) for line in out.lines()]
    _check_comparisons(printed, [5, 1, 7, 33, 99], lambda a, b: 0, "zero")


@example("qsort", "qsort with a Python callback: compare, and the array is sorted",
         requires=["arrays", "pointers", "callbacks"])
def qsort_sorts() -> None:
    libc = cdll.LoadLibrary(find_library("c"))
    IntArray5 = c_int * 5
    ia = IntArray5(5, 1, 7, 33, 99)
    qsort = libc.qsort
    qsort.restype = None
    CMPFUNC = CFUNCTYPE(c_int, POINTER(c_int), POINTER(c_int))

    def py_cmp_func(a, b):
        print("py_cmp_func", a[0], b[0])
        return a[0] - b[0]

    with captured_output() as out:
        qsort(ia, len(ia), sizeof(c_int), CMPFUNC(py_cmp_func))

    printed = [tuple(map(int, line.split()[1:])) for line in out.lines()]
    _check_comparisons(printed, [5, 1, 7, 33, 99], lambda a, b: a - b, "difference")

    # As we can easily check, our array sorted now:
    for i in ia: print(i, end=" ")
    print()
    expect(list(ia), [1, 5, 7, 33, 99])


@example("qsort", "Declared in C: qsort from include(\"stdlib.h\"), the comparator a plain Python function",
         requires=["arrays", "callbacks", "compiler"])
def qsort_from_stdlib_h() -> None:
    # No restype, no CFUNCTYPE: the header says qsort returns void and takes
    # int (*)(const void *, const void *), so a Python function is converted (and kept
    # alive) for the call. Its arguments are the const void * values: addresses.
    libc = ferrotypes.include("stdlib.h")
    ia = (c_int * 5)(5, 1, 7, 33, 99)

    def py_cmp_func(a, b):
        x, y = c_int.from_address(a).value, c_int.from_address(b).value
        print("py_cmp_func", x, y)
        return x - y

    with captured_output() as out:
        result = libc.qsort(ia, len(ia), sizeof(c_int), py_cmp_func)
    expect(result, None)

    printed = [tuple(map(int, line.split()[1:])) for line in out.lines()]
    _check_comparisons(printed, [5, 1, 7, 33, 99], lambda a, b: a - b, None)
    expect(list(ia), [1, 5, 7, 33, 99])
