"""errno around foreign calls: ``use_errno=True`` swaps C's errno with ferrotypes'
private copy before and after the call, ``get_errno``/``set_errno`` read and write
that copy, one per thread.

``fttest`` (tests/conftest.py) is the C test library (tests/clib/fttest.c) loaded by
both implementations; ``fttest.func(name, restype, argtypes)`` gives a freshly
configured function object of each.
"""

import ctypes as std_ctypes
import threading

from hypothesis import given
from hypothesis import strategies as st

import ferrotypes
from calltools import FAST


@FAST
@given(value=st.integers(0, 4095))
def test_use_errno_captures_errno(fttest_path, value):
    results = []
    for module in (ferrotypes, std_ctypes):
        lib = module.CDLL(fttest_path, use_errno=True)
        module.set_errno(0)
        assert lib.ft_set_errno(value) == -1
        results.append(module.get_errno())
    assert results == [value, value]


def test_use_errno_passes_errno_in(fttest_path, ft):
    lib = ft.CDLL(fttest_path, use_errno=True)
    ft.set_errno(17)
    assert lib.ft_get_errno() == 17


def test_without_use_errno_the_private_copy_is_untouched(fttest, ft):
    ft.set_errno(5)
    fttest.ft["ft_set_errno"](99)
    assert ft.get_errno() == 5


def test_set_errno_returns_the_old_value(ft, std):
    for module in (ft, std):
        module.set_errno(3)
        assert module.set_errno(4) == 3
        assert module.get_errno() == 4


def test_errno_is_per_thread(ft):
    ft.set_errno(11)
    seen = []

    def other():
        seen.append(ft.get_errno())
        ft.set_errno(22)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == [0]
    assert ft.get_errno() == 11


def test_use_errno_on_a_prototype(fttest, ft):
    address = std_ctypes.cast(fttest.std.ft_set_errno, std_ctypes.c_void_p).value
    set_errno = ft.CFUNCTYPE(ft.c_int, ft.c_int, use_errno=True)(address)
    ft.set_errno(0)
    set_errno(33)
    assert ft.get_errno() == 33
