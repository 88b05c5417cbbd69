# pyright: strict, reportPrivateUsage=false
# (ctypes itself names its pointer base class _Pointer.)
"""The standard library's ctypes objects given to ferrotypes' functions, as a typed
program: the stubs take them where the runtime does (cast, byref, pointer, sizeof,
alignment, addressof, string_at)."""

from __future__ import annotations

import ctypes as stdlib_ctypes
from typing import Any, assert_type

from ferrotypes import POINTER, _Pointer, addressof, alignment, byref, c_char, c_int, cast, pointer, sizeof, string_at


def main() -> None:
    theirs = (stdlib_ctypes.c_int * 3)(1, 2, 3)
    ints = cast(theirs, POINTER(c_int))
    assert_type(ints, "_Pointer[c_int]")
    assert ints[2] == 3
    assert cast(stdlib_ctypes.byref(theirs, 4), POINTER(c_int))[0] == 2
    one = stdlib_ctypes.c_int(7)
    to_one = pointer(one)
    assert_type(to_one, "_Pointer[Any]")
    assert to_one[0] == 7
    assert byref(one)._obj is not None
    assert sizeof(theirs) == 12 and sizeof(stdlib_ctypes.c_int) == 4 and alignment(one) == 4
    assert addressof(theirs) == stdlib_ctypes.addressof(theirs)
    text = stdlib_ctypes.create_string_buffer(b"typed")
    assert string_at(text) == b"typed"
    assert string_at(stdlib_ctypes.byref(text, 2), 2) == b"pe"
    assert cast(text, POINTER(c_char))[0] == b"t"
    print("stdlib_mix: ok")


if __name__ == "__main__":
    main()
