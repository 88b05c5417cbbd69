"""C data instances export their memory through the buffer protocol, as ctypes does.

Each type is built the same way from ``ferrotypes`` and from the stdlib's ``ctypes``
(a builder takes the module), and ``memoryview`` of an instance must report the same
PEP 3118 layout: format, item size, dimensions, shape, strides, read-only flag,
length; the bytes seen through it are the instance's own bytes.
"""

import ctypes as std_ctypes
import gc
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes

SIMPLE = [
    "c_bool", "c_char", "c_wchar", "c_byte", "c_ubyte", "c_short", "c_ushort", "c_int",
    "c_uint", "c_long", "c_ulong", "c_longlong", "c_ulonglong", "c_size_t", "c_ssize_t",
    "c_float", "c_double", "c_longdouble", "c_char_p", "c_wchar_p", "c_void_p",
    "py_object",
]
SWAPPABLE = ["c_short", "c_ushort", "c_int", "c_uint", "c_long", "c_ulong", "c_longlong",
             "c_ulonglong", "c_float", "c_double"]


def simple(name):
    return lambda m: getattr(m, name)


def be(name):
    return lambda m: getattr(m, name).__ctype_be__


def le(name):
    return lambda m: getattr(m, name).__ctype_le__


BUILDERS = {}
for _name in SIMPLE:
    BUILDERS[_name] = simple(_name)
for _name in SWAPPABLE:
    BUILDERS[_name + "-be"] = be(_name)
    BUILDERS[_name + "-le"] = le(_name)
BUILDERS.update({
    "subclass": lambda m: type("X", (m.c_int,), {}),
    "int*3": lambda m: m.c_int * 3,
    "int*0": lambda m: m.c_int * 0,
    "char*5": lambda m: m.c_char * 5,
    "wchar*4": lambda m: m.c_wchar * 4,
    "be-int*3": lambda m: m.c_int.__ctype_be__ * 3,
    "int*3*2": lambda m: m.c_int * 3 * 2,
    "short*2*3*4": lambda m: m.c_short * 2 * 3 * 4,
    "double*1*1": lambda m: m.c_double * 1 * 1,
    "POINTER(int)": lambda m: m.POINTER(m.c_int),
    "POINTER(be-double)": lambda m: m.POINTER(m.c_double.__ctype_be__),
    "POINTER(POINTER(int))": lambda m: m.POINTER(m.POINTER(m.c_int)),
    "POINTER(int*3)": lambda m: m.POINTER(m.c_int * 3),
    "POINTER(int*3*2)": lambda m: m.POINTER(m.c_int * 3 * 2),
    "POINTER(int)*2": lambda m: m.POINTER(m.c_int) * 2,
    "POINTER(char_p)": lambda m: m.POINTER(m.c_char_p),
    "CFUNCTYPE": lambda m: m.CFUNCTYPE(m.c_int),
    "CFUNCTYPE*2": lambda m: m.CFUNCTYPE(m.c_int) * 2,
    "POINTER(CFUNCTYPE)": lambda m: m.POINTER(m.CFUNCTYPE(m.c_int)),
})


def layout(view):
    return (view.format, view.itemsize, view.ndim, view.shape, view.strides, view.readonly,
            view.nbytes, view.c_contiguous)


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_memoryview_layout_matches_ctypes(build):
    ftobj, stdobj = build(ferrotypes)(), build(std_ctypes)()
    assert layout(memoryview(ftobj)) == layout(memoryview(stdobj))


def test_memoryview_layout_examples(ft):
    assert memoryview(ft.c_int()).format == "<i"
    assert memoryview(ft.c_long()).format == "<q"  # an 8-byte long is 'q' in PEP 3118
    assert memoryview(ft.c_int.__ctype_be__()).format == ">i"
    view = memoryview((ft.c_int * 3 * 2)())
    assert (view.format, view.shape, view.strides) == ("<i", (2, 3), (12, 4))
    assert memoryview(ft.POINTER(ft.c_int * 3)()).format == "&(3)<i"
    assert memoryview(ft.CFUNCTYPE(None)()).format == "X{}"


def test_pointer_format_follows_set_pointer_type(ft, std):
    views = []
    for m in (ft, std):
        incomplete = m.POINTER(type("Target", (m.c_int,), {}))
        views.append(memoryview(incomplete()).format)
    assert views[0] == views[1]


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.integers(-2**31, 2**31 - 1), min_size=0, max_size=8))
def test_views_see_and_change_the_instance_memory(values):
    n = len(values)
    ftarr, stdarr = (ferrotypes.c_int * n)(*values), (std_ctypes.c_int * n)(*values)
    ftview, stdview = memoryview(ftarr), memoryview(stdarr)
    # (memoryview cannot index the explicit-byte-order format '<i'; ctypes' neither.)
    assert ftview.tobytes() == bytes(ftarr) == stdview.tobytes() == struct.pack(f"{n}i", *values)
    if n:
        ftview.cast("B")[:4] = struct.pack("i", 12345)
        assert ftarr[0] == 12345


def test_bytes_of_big_endian_instances(ft, std):
    assert bytes(ft.c_int.__ctype_be__(0x01020304)) == bytes(std.c_int.__ctype_be__(0x01020304)) \
        == b"\x01\x02\x03\x04"


def test_a_view_keeps_the_instance_alive(ft):
    view = memoryview((ft.c_int * 40)(*range(40)))  # heap memory, nothing else refers to it
    gc.collect()
    ft.create_string_buffer(160)  # would likely reuse a freed block
    assert view.tobytes() == struct.pack("40i", *range(40))


def test_resized_instances_export_all_their_memory(ft, std):
    views = []
    for m in (ft, std):
        obj = m.c_int(7)
        m.resize(obj, 32)
        views.append(layout(memoryview(obj)))
    assert views[0] == views[1]


def test_resize_is_refused_while_a_view_exists(ft):
    # ctypes moves the memory under the view (a use-after-free); ferrotypes refuses.
    obj = ft.create_string_buffer(8)
    view = memoryview(obj)
    with pytest.raises(BufferError):
        ft.resize(obj, 64)
    view.release()
    ft.resize(obj, 64)
    assert ft.sizeof(obj) == 64


def test_from_buffer_copy_of_a_ctypes_instance(ft):
    source = (ft.c_int * 2)(5, 6)
    copy = (ft.c_int * 2).from_buffer_copy(source)
    assert list(copy) == [5, 6]


def test_numpy_sees_the_dtype_zero_copy(ft):
    import numpy as np
    arr = (ft.c_double * 3 * 2)()
    a = np.asarray(arr)
    assert a.dtype == np.float64 and a.shape == (2, 3)
    a[1, 2] = 2.5
    assert arr[1][2] == 2.5
    b = np.frombuffer(ft.c_int.__ctype_be__(258), dtype=">i4")
    assert b.tolist() == [258]


def test_pointer_format_is_fixed_when_the_target_is_set_like_ctypes(ft, std):
    # ctypes computes a pointer type's format once: a pointer to a structure
    # completed later keeps the incomplete structure's '&B'.
    formats = []
    for m in (ft, std):
        class Later(m.Structure):
            pass

        pointer = m.POINTER(Later)
        Later._fields_ = [("a", m.c_int)]
        formats.append((memoryview(pointer()).format, memoryview(Later()).format,
                        memoryview(m.POINTER(m.c_int * 2)()).format))
    assert formats[0] == formats[1] == ("&B", "T{<i:a:}", "&(2)<i")
