# pyright: strict, reportPrivateUsage=false
# (ctypes itself names its pointer base class _Pointer.)
"""ferrotypes' core API as a typed program: mypy --strict and pyright check it (with
``assert_type``, so a stub that gets vaguer — ``Any`` — or wrong fails the check), and
tests/test_typing.py also runs it against libc.
"""

from __future__ import annotations

from typing import assert_type

from ferrotypes import (
    CDLL, CFUNCTYPE, POINTER, Array, Structure, _Pointer, addressof, byref, c_char,
    c_char_p, c_double, c_int, c_void_p, cast, create_string_buffer, pointer, sizeof,
)
from ferrotypes._ctypes import CArgObject, CFuncPtr
from ferrotypes.util import find_library


class Point(Structure):
    _fields_ = [("x", c_int), ("y", c_int)]
    x: int
    y: int


class Node(Structure):
    """A linked list node: an incomplete type, completed after the class exists."""

    value: int
    next: _Pointer[Node]


Node._fields_ = [("value", c_int), ("next", POINTER(Node))]


def main() -> None:
    n = c_int(42)
    assert_type(n.value, int)
    assert_type(c_double(1.5).value, float)
    assert_type(c_char_p(b"hi").value, bytes | None)
    assert_type(c_void_p(None).value, int | None)

    IntArray3 = c_int * 3
    assert_type(IntArray3, type[Array[c_int]])
    numbers = IntArray3(1, 2, 3)
    assert_type(numbers[0], int)
    assert_type(numbers[0:2], list[int])
    numbers[1] = 7
    assert_type(list(numbers), list[int])
    assert sum(numbers) == 11

    chars = create_string_buffer(b"abc")
    assert chars.value == b"abc"

    p = pointer(n)
    assert_type(p, "_Pointer[c_int]")  # ctypes' _Pointer is not subscriptable at run time
    assert_type(p.contents, c_int)
    assert_type(p[0], int)
    q = POINTER(c_int)(n)
    assert q[0] == 42

    pt = Point(1, 2)
    assert_type(pt.x, int)
    assert sizeof(Point) == sizeof(pt) == 8 and addressof(pt) != 0
    points = (Point * 2)(pt)
    assert_type(points[0], Point)
    assert points[0].y == 2
    copy = Point.from_buffer_copy(bytes(pt))
    assert_type(copy, Point)

    libc = CDLL(find_library("c"))
    strlen = libc.strlen
    assert_type(strlen, CFuncPtr)
    strlen.argtypes = [c_char_p]
    strlen.restype = c_int
    assert strlen(b"hello") == 5

    ref = byref(n)
    assert_type(ref, CArgObject)
    as_void = cast(p, c_void_p)
    assert_type(as_void, c_void_p)
    assert as_void.value == addressof(n)
    first_char = cast(chars, POINTER(c_char))
    assert_type(first_char[0], bytes)
    assert first_char[0] == b"a"

    tail = Node(2)
    head = Node(1, pointer(tail))
    assert_type(head.next.contents, Node)
    assert head.next.contents.value == 2 and not tail.next

    IntCallback = CFUNCTYPE(c_int, c_int)

    def twice(x: int) -> int:
        return 2 * x

    callback = IntCallback(twice)
    assert_type(callback, CFuncPtr)
    assert callback(21) == 42
    assert memoryview(numbers).nbytes == 12


if __name__ == "__main__":
    main()
    print("basics: ok")
