# pyright: strict, reportPrivateUsage=false
# (ctypes itself names its pointer base class _Pointer.)
"""The tour's strings-and-memory examples (an article on Python's ctypes module) as a
typed program, on the tour's clib1.c: C changing a buffer, and memory allocated in C.
"""

from __future__ import annotations

from typing import assert_type

from ferrotypes import CDLL, POINTER, c_char, c_char_p, create_string_buffer
from ferrotypes._cbuild import build_shared_library
from ferrotypes.tour._harness import C_SOURCES


def main() -> None:
    lib = CDLL(str(build_shared_library([C_SOURCES / "clib1.c"], "libclib1")))
    first: int = lib.simple_function()
    assert lib.simple_function() == first + 1

    buffer = create_string_buffer(b"Hello")
    lib.add_one_to_string(buffer)
    assert buffer.value == b"Ifmmp"

    alloc = lib.alloc_C_string
    alloc.restype = POINTER(c_char)
    phrase_ptr = alloc()
    phrase = c_char_p.from_buffer(phrase_ptr)
    assert_type(phrase, c_char_p)
    assert_type(phrase.value, bytes | None)
    assert phrase.value == b"I was written in C"
    lib.free_C_string(phrase_ptr)


if __name__ == "__main__":
    main()
    print("strings_and_memory: ok")
