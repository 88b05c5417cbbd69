# pyright: strict
"""ferrotypes' memory with an owner as a typed program (mypy --strict, pyright, and
tests/test_typing.py runs it): Arena.new gives an instance of the class it is given,
string a c_char array, owned an instance of its argument's class."""

from __future__ import annotations

from typing import assert_type

import ferrotypes
from ferrotypes import CDLL, Array, Structure, c_char, c_double, c_int, c_void_p
from ferrotypes.util import find_library


class Point(Structure):
    _fields_ = [("x", c_int), ("y", c_double)]
    x: int
    y: float


def main() -> None:
    with ferrotypes.Arena() as arena:
        assert_type(arena, ferrotypes.Arena)
        point = arena.new(Point, 1, 2.5)
        assert_type(point, Point)
        numbers = arena.new(c_double * 3, 1.0, 2.0)
        assert_type(numbers, Array[c_double])
        text = arena.string(b"abc")
        assert_type(text, Array[c_char])
        assert (point.x, numbers[1], text.value) == (1, 2.0, b"abc")
    assert arena.closed

    libc = CDLL(find_library("c"))
    libc.malloc.restype = c_void_p
    block = ferrotypes.owned(c_void_p(libc.malloc(16)), libc.free)
    assert_type(block, c_void_p)
    ferrotypes.release(block)
    print("ownership: ok")


if __name__ == "__main__":
    main()
