"""Zero-copy arguments: buffers and the stdlib's ctypes objects passed to pointer parameters.

A pointer parameter (``POINTER(T)``, an array type, ``c_void_p``, ``c_char_p``, an
``ndpointer``) takes any object with the buffer protocol whose items are what it points
to, without copying; C writes land in the caller's memory. Read-only memory only goes
to ``c_void_p`` and ``c_char_p``; non-contiguous memory nowhere; a buffer smaller than
an array pointee is a ValueError. Objects of the standard library's ctypes are taken
as ferrotypes' own of the same kind. Every refusal is an ArgumentError naming the
argument. The C side is tests/clib/arrays.c.
"""

from __future__ import annotations

import array
import ctypes as std

import pytest
from hypothesis import HealthCheck, assume, given, settings

np = pytest.importorskip("numpy")

import ferrotypes as ft  # noqa: E402
import ferrotypes.numpy as ftn  # noqa: E402
from npstrategies import dtypes  # noqa: E402

# numpy dtype -> (ferrotypes element type, C function suffix, sample values)
NUMERIC = {
    "int8": (ft.c_int8, "int8", range(-5, 5)),
    "uint8": (ft.c_uint8, "uint8", range(10)),
    "int16": (ft.c_int16, "int16", range(-500, 500, 100)),
    "uint16": (ft.c_uint16, "uint16", range(0, 1000, 100)),
    "int32": (ft.c_int32, "int32", range(-5, 5)),
    "uint32": (ft.c_uint32, "uint32", range(10)),
    "int64": (ft.c_int64, "int64", [-(2**40), -1, 0, 1, 2**40]),
    "uint64": (ft.c_uint64, "uint64", [0, 1, 2**40, 2**62]),
    "float32": (ft.c_float, "float", [-1.5, 0.0, 0.25, 3.0e30]),
    "float64": (ft.c_double, "double", [-1.5, 0.0, 0.25, 1e300]),
    "longdouble": (ft.c_longdouble, "longdouble", [-1.5, 0.0, 0.25, 1e300]),
}


@pytest.fixture(scope="module")
def lib(fttest_path):
    return ft.CDLL(fttest_path)


def func(lib, name, argtypes, restype=None):
    f = lib[name]  # a fresh function object: these tests set argtypes freely
    f.argtypes = argtypes
    f.restype = restype
    return f


def refused(call, kind="TypeError"):
    """The message of the ArgumentError ``call`` raises, checked to name argument 1."""
    with pytest.raises(ft.ArgumentError) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"argument 1: {kind}: "), message
    return message


# --- every numeric dtype through C -----------------------------------------------------------


@pytest.mark.parametrize("how", ["pointer", "ndpointer", "void"])
@pytest.mark.parametrize("dtype", sorted(NUMERIC))
def test_every_numeric_dtype_goes_through_c_in_place(lib, dtype, how):
    ctype, suffix, values = NUMERIC[dtype]
    a = np.array(values, dtype=dtype)
    param = {"pointer": ft.POINTER(ctype), "void": ft.c_void_p,
             "ndpointer": ftn.ndpointer(dtype=dtype, ndim=1, flags="C_CONTIGUOUS,WRITEABLE")}[how]
    twice = func(lib, f"ftzc_twice_{suffix}", [param, ft.c_size_t])
    total = func(lib, f"ftzc_sum_{suffix}", [param, ft.c_size_t], ft.c_double)
    expected = (a * 2).astype(dtype)
    twice(a, a.size)
    assert a.tolist() == expected.tolist()
    assert total(a, a.size) == pytest.approx(float(np.sum(a.astype(np.float64))))


def test_bool_arrays(lib):
    a = np.array([True, False, True])
    func(lib, "ftzc_not_bool", [ft.POINTER(ft.c_bool), ft.c_size_t])(a, 3)
    assert a.tolist() == [False, True, False]
    with pytest.raises(ft.ArgumentError, match="does not fit a pointer to c_bool"):
        func(lib, "ftzc_not_bool", [ft.POINTER(ft.c_bool), ft.c_size_t])(np.zeros(3, np.uint8), 3)


@pytest.mark.parametrize("dtype, name", [("complex64", "cfloat"), ("complex128", "cdouble")])
def test_complex_arrays_through_c_void_p_and_ndpointer(lib, dtype, name):
    a = np.array([1 + 2j, -3 - 4j], dtype=dtype)
    for param in (ft.c_void_p, ftn.ndpointer(dtype=dtype, flags="C,W")):
        func(lib, f"ftzc_conj_{name}", [param, ft.c_size_t])(a, a.size)
    assert a.tolist() == [1 + 2j, -3 - 4j]  # conjugated twice
    # A complex is not a float: a plain pointer to the component type refuses it.
    part = ft.c_float if dtype == "complex64" else ft.c_double
    message = refused(lambda: func(lib, f"ftzc_conj_{name}", [ft.POINTER(part), ft.c_size_t])(a, 2))
    assert "format 'Z" in message


def test_byte_swapped_arrays_need_swapped_types(lib):
    big = np.array([1, 2, 3], dtype=">i4")
    refused(lambda: func(lib, "ftzc_sum_int32", [ft.POINTER(ft.c_int32), ft.c_size_t], ft.c_double)(big, 3))
    swapped = func(lib, "ftzc_sum_int32", [ft.POINTER(ft.c_int32.__ctype_be__), ft.c_size_t], ft.c_double)
    assert swapped(big, 3) == float(int.from_bytes((1).to_bytes(4, "big"), "little")
                                    + int.from_bytes((2).to_bytes(4, "big"), "little")
                                    + int.from_bytes((3).to_bytes(4, "big"), "little"))


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.arange(10.0)[::2], np.zeros((3, 2)).T, np.zeros((2, 3), order="F")],
                         ids=["strided", "transposed", "fortran"])
def test_non_contiguous_arrays_are_refused(lib, bad):
    plain = func(lib, "ftzc_sum_double", [ft.POINTER(ft.c_double), ft.c_size_t], ft.c_double)
    assert "non-contiguous buffer" in refused(lambda: plain(bad, 1))
    nd = func(lib, "ftzc_sum_double", [ftn.ndpointer(dtype="f8", flags="C_CONTIGUOUS"), ft.c_size_t], ft.c_double)
    assert "array must have flags ['C_CONTIGUOUS']" in refused(lambda: nd(bad, 1))
    void = func(lib, "ftzc_sum_double", [ft.c_void_p, ft.c_size_t], ft.c_double)
    assert "non-contiguous buffer" in refused(lambda: void(bad, 1))


def read_only(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("memory", [lambda: read_only(np.arange(1, 5, dtype=np.uint8)), lambda: b"\x01\x02\x03\x04",
                                    lambda: memoryview(b"\x01\x02\x03\x04")],
                         ids=["ndarray", "bytes", "memoryview-of-bytes"])
def test_read_only_memory_only_for_c_void_p_and_c_char_p(lib, memory):
    writable = func(lib, "ftzc_twice_uint8", [ft.POINTER(ft.c_ubyte), ft.c_size_t])
    message = refused(lambda: writable(memory(), 4))
    assert message.startswith("argument 1: TypeError: read-only buffer") and "writable pointer to c_ubyte" in message
    for param in (ft.c_void_p, ft.c_char_p):
        assert func(lib, "ftzc_sum_uint8", [param, ft.c_size_t], ft.c_double)(memory(), 4) == 10.0


def test_read_only_arrays_for_ndpointer_follow_its_flags(lib):
    a = read_only(np.arange(3.0))
    reader = ftn.ndpointer(dtype="f8", flags="C")
    assert func(lib, "ftzc_sum_double", [reader, ft.c_size_t], ft.c_double)(a, 3) == 3.0
    writer = ftn.ndpointer(dtype="f8", flags="C,W")
    assert "WRITEABLE" in refused(lambda: func(lib, "ftzc_twice_double", [writer, ft.c_size_t])(a, 3))


@pytest.mark.parametrize("bad, message", [
    (np.zeros(3, np.float32), "array must have data type float64, not float32"),
    (np.zeros((3, 1)), "array must have 1 dimension(s), not 2"),
    (np.zeros(4), "array must have shape (3,), not (4,)"),
    (np.zeros(6)[::2], "array must have flags ['C_CONTIGUOUS']"),
    (bytearray(24), "argument must be an ndarray, not bytearray"),
    ([0.0, 1.0, 2.0], "argument must be an ndarray, not list"),
])
def test_ndpointer_mismatches_name_the_argument_and_the_mismatch(lib, bad, message):
    f = func(lib, "ftzc_sum_double", [ftn.ndpointer(dtype="f8", ndim=1, shape=(3,), flags="C"), ft.c_size_t],
             ft.c_double)
    assert message in refused(lambda: f(bad, 3))


@pytest.mark.parametrize("bad, message", [
    (np.zeros(3, np.int64), "buffer of format 'l', itemsize 8 (numpy.ndarray) does not fit a pointer to c_double"),
    (bytearray(24), "buffer of format 'B', itemsize 1 (bytearray) does not fit a pointer to c_double"),
    (array.array("f", [1.0]), "buffer of format 'f', itemsize 4 (array.array) does not fit a pointer to c_double"),
    ([1.0], "expected LP_c_double instance instead of list"),
    (object(), "expected LP_c_double instance instead of object"),
])
def test_pointer_mismatches_name_the_argument_and_the_mismatch(lib, bad, message):
    f = func(lib, "ftzc_sum_double", [ft.POINTER(ft.c_double), ft.c_size_t], ft.c_double)
    assert message in refused(lambda: f(bad, 0))


def test_c_char_p_takes_bytes_but_not_wider_items(lib):
    f = func(lib, "ftzc_sum_uint8", [ft.c_char_p, ft.c_size_t], ft.c_double)
    assert f(bytearray(b"\x01\x02"), 2) == 3.0
    assert f(np.array([1, 2], np.int8), 2) == 3.0
    assert f(np.array([b"ab"], "S2"), 2) == float(ord("a") + ord("b"))
    assert "does not fit a c_char_p parameter (bytes)" in refused(lambda: f(np.zeros(2), 2))


# --- buffers of the standard library ------------------------------------------------------------


def test_memoryview_bytearray_and_array_array(lib):
    doubles = array.array("d", [1.0, 2.0, 3.0])
    func(lib, "ftzc_twice_double", [ft.POINTER(ft.c_double), ft.c_size_t])(doubles, 3)
    assert doubles.tolist() == [2.0, 4.0, 6.0]
    raw = bytearray(b"\x01\x02\x03")
    func(lib, "ftzc_twice_uint8", [ft.POINTER(ft.c_ubyte), ft.c_size_t])(raw, 3)
    assert raw == b"\x02\x04\x06"
    # POINTER(c_char) converts as c_char_p (in ctypes too): any bytes, read-only ones included.
    func(lib, "ftzc_twice_uint8", [ft.POINTER(ft.c_char), ft.c_size_t])(raw, 3)
    assert raw == b"\x04\x08\x0c"
    assert func(lib, "ftzc_sum_uint8", [ft.POINTER(ft.c_char), ft.c_size_t], ft.c_double)(b"\x01\x02", 2) == 3.0
    ints = bytearray(8)
    view = memoryview(ints).cast("i")
    view[0], view[1] = 5, -7
    func(lib, "ftzc_twice_int32", [ft.POINTER(ft.c_int), ft.c_size_t])(view, 2)
    assert view.tolist() == [10, -14]
    func(lib, "ftzc_twice_int32", [ft.POINTER(ft.c_int), ft.c_size_t])(memoryview(ints)[4:].cast("i"), 1)
    assert view.tolist() == [10, -28]


def test_the_buffer_is_held_during_the_call_and_released_after(lib):
    raw = bytearray(16)
    seen = []

    def during():
        try:
            raw.extend(b"x")  # a bytearray cannot grow while a buffer of it is exported
        except BufferError:
            seen.append("held")
        return 0

    callback = ft.CFUNCTYPE(ft.c_int)(during)
    f = func(lib, "ftzc_call_with", [ft.POINTER(ft.c_ubyte), ft.CFUNCTYPE(ft.c_int)], ft.c_int)
    f(raw, callback)
    assert seen == ["held"]
    raw.extend(b"x")  # released: it grows again
    assert len(raw) == 17


def test_a_refused_buffer_is_released(lib):
    doubles = array.array("d", [1.0])
    f = func(lib, "ftzc_sum_double", [ft.POINTER(ft.c_double * 2), ft.c_size_t], ft.c_double)
    refused(lambda: f(doubles, 1), "ValueError")
    doubles.append(2.0)  # an array.array cannot grow while exported
    assert f(doubles, 2) == 3.0


# --- sizes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("param", [ft.POINTER(ft.c_double * 10), ft.c_double * 10],
                         ids=["pointer-to-array", "array"])
def test_a_buffer_smaller_than_the_declared_array_is_a_value_error(lib, param):
    f = func(lib, "ftzc_sum_double", [param, ft.c_size_t], ft.c_double)
    message = refused(lambda: f(np.ones(5), 5), "ValueError")
    assert "buffer of 40 bytes is too small" in message and "(80 bytes)" in message
    assert f(np.ones(10), 10) == 10.0
    assert f(np.ones((4, 5)), 20) == 20.0  # larger is fine: C reads what it is told
    assert f((ft.c_double * 10)(*range(10)), 10) == 45.0  # ferrotypes' own as ever


def test_a_two_dimensional_pointee_counts_its_elements(lib):
    f = func(lib, "ftzc_sum_int32", [ft.POINTER(ft.c_int32 * 3 * 2), ft.c_size_t], ft.c_double)
    assert f(np.arange(6, dtype=np.int32).reshape(2, 3), 6) == 15.0
    refused(lambda: f(np.arange(5, dtype=np.int32), 5), "ValueError")


# --- the standard library's ctypes objects -------------------------------------------------------


def test_numpy_ctypes_attributes_from_the_stdlib(lib):
    a = np.arange(6.0)
    pointer = func(lib, "ftzc_sum_double", [ft.POINTER(ft.c_double), ft.c_size_t], ft.c_double)
    assert pointer(a.ctypes.data_as(std.POINTER(std.c_double)), 6) == 15.0
    assert func(lib, "ftzc_sum_double", [ft.c_void_p, ft.c_size_t], ft.c_double)(a.ctypes.data, 6) == 15.0
    m = np.zeros((2, 3))
    longs = func(lib, "ftzc_sum_int64", [ft.POINTER(ft.c_ssize_t), ft.c_size_t], ft.c_double)
    assert longs(m.ctypes.shape, 2) == 5.0
    assert longs(m.ctypes.strides, 2) == 24.0 + 8.0
    mismatch = refused(lambda: pointer(a.ctypes.data_as(std.POINTER(std.c_float)), 6))
    assert "expected ferrotypes pointer to c_double (format '<d', itemsize 8), got ctypes LP_c_float" in mismatch


def test_stdlib_simple_instances_for_simple_parameters(fttest):
    add = fttest.ft["ft_add_double"]
    add.argtypes = [ft.c_double, ft.c_double]
    add.restype = ft.c_double
    assert add(std.c_double(1.5), 2.0) == 3.5
    assert "expected ferrotypes c_double (format '<d'), got ctypes c_int (format '<i')" in refused(
        lambda: add(std.c_int(1), 2.0))
    strlen = fttest.ft["ft_strlen"]
    strlen.argtypes = [ft.c_char_p]
    strlen.restype = ft.c_size_t
    assert strlen(std.c_char_p(b"hello")) == 5
    assert strlen(std.create_string_buffer(b"abc", 10)) == 3


def test_stdlib_pointers_arrays_and_byref_for_pointer_parameters(lib, fttest):
    f = func(lib, "ftzc_twice_int32", [ft.POINTER(ft.c_int32), ft.c_size_t])
    values = (std.c_int32 * 3)(1, 2, 3)
    f(values, 3)
    assert values[:] == [2, 4, 6]
    f(std.pointer(std.c_int32.from_buffer(values)), 1)
    assert values[0] == 4
    one = std.c_int32(21)
    f(one, 1)  # an instance of the target: its address, as POINTER(T).from_param does
    f(std.byref(one), 1)
    assert one.value == 84
    f(std.byref(values, 4), 1)  # byref with an offset: the second element
    assert values[:] == [4, 8, 6]
    assert "expected ferrotypes pointer to c_int (format '<i', itemsize 4), got ctypes c_double" in refused(
        lambda: f(std.c_double(1), 1))
    assert "got ctypes CArgObject" in refused(lambda: f(std.byref(std.c_double(1)), 1))
    assert "got ctypes c_void_p" in refused(lambda: f(std.c_void_p(0), 1))  # as ctypes: not a c_int pointer

    divmod_ = fttest.ft["ft_divmod"]
    divmod_.argtypes = [ft.c_int, ft.c_int, ft.POINTER(ft.c_int), ft.POINTER(ft.c_int)]
    divmod_.restype = None
    q, r = std.c_int(), std.c_int()
    divmod_(17, 5, std.byref(q), std.byref(r))
    assert (q.value, r.value) == (3, 2)


def test_stdlib_objects_for_c_void_p(lib):
    f = func(lib, "ftzc_sum_double", [ft.c_void_p, ft.c_size_t], ft.c_double)
    values = (std.c_double * 2)(1.0, 2.0)
    assert f(values, 2) == 3.0
    assert f(std.cast(values, std.c_void_p), 2) == 3.0
    assert f(std.pointer(values), 2) == 3.0
    assert f(std.byref(values), 2) == 3.0
    assert "expected ferrotypes c_void_p parameter" in refused(lambda: f(std.c_double(1.0), 1))  # as ctypes


def test_stdlib_structures_by_value_and_by_pointer(fttest):
    class FtPoint(ft.Structure):
        _fields_ = [("x", ft.c_int), ("y", ft.c_int)]

    class StdPoint(std.Structure):
        _fields_ = [("x", std.c_int), ("y", std.c_int)]

    class Other(std.Structure):
        _fields_ = [("x", std.c_double)]

    by_value = fttest.ft["ft_point_sum"]
    by_value.argtypes = [FtPoint]
    assert by_value(StdPoint(3, 4)) == 7
    refused(lambda: by_value(Other(1.0)))
    scale = fttest.ft["ft_point_scale"]
    scale.argtypes = [ft.POINTER(FtPoint), ft.c_int]
    scale.restype = None
    p = StdPoint(1, 2)
    scale(p, 10)
    scale(std.byref(p), 2)
    assert (p.x, p.y) == (20, 40)
    points = (StdPoint * 2)(StdPoint(1, 1), StdPoint(2, 2))
    scale(points, 3)
    assert (points[0].x, points[1].x) == (3, 2)
    refused(lambda: scale(Other(1.0), 2))


def test_stdlib_instances_are_kept_for_the_call(lib):
    f = func(lib, "ftzc_sum_double", [ft.POINTER(ft.c_double), ft.c_size_t], ft.c_double)
    assert f((std.c_double * 3)(1, 2, 3), 3) == 6.0  # made in the call, held by it


# --- structured dtypes and the types as_ctypes_type makes -----------------------------------


def buffer_format(dtype):
    try:
        return memoryview(np.zeros(1, dtype)).format
    except (ValueError, TypeError, NotImplementedError, BufferError):
        return None


def lossy_format(dtype, in_subarray=False):
    """Whether numpy's buffer format misdescribes ``dtype``: it leaves a structure's
    trailing padding out, so the elements of a sub-array of such structures seem
    closer together than they are."""
    if dtype.subdtype is not None:
        element, shape = dtype.subdtype
        return lossy_format(element, in_subarray or int(np.prod(shape)) > 1)
    if dtype.fields is None:
        return False
    end = max((offset + field.itemsize for field, offset, *_ in dtype.fields.values()), default=0)
    inner = any(lossy_format(field, in_subarray) for field, *_ in dtype.fields.values())
    return inner or (in_subarray and end < dtype.itemsize)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dtypes)
def test_a_pointer_to_as_ctypes_type_takes_arrays_of_that_dtype(fttest, dtype):
    """numpy's buffer format (padding as ``x``) read by ferrotypes matches the layout
    ferrotypes.numpy.as_ctypes_type builds (padding as char arrays), for generated
    structured dtypes: the array's own address reaches C. Where numpy's format cannot
    say the layout, the array may be refused, with a TypeError."""
    try:
        ctype = ftn.as_ctypes_type(dtype)
    except NotImplementedError:
        assume(False)
    assume(buffer_format(dtype) is not None and not issubclass(ctype, ft.Union))
    a = np.zeros(3, dtype)
    same = fttest.ft["ftnp_same_pointer"]
    same.argtypes = [ft.POINTER(ctype)]
    same.restype = ft.c_void_p
    if lossy_format(a.dtype):  # a top-level sub-array becomes part of the shape
        # Either the misread scalars still line up (padding facing chars) or refused.
        try:
            assert same(a) == a.ctypes.data
        except ft.ArgumentError as exc:
            assert "does not fit" in str(exc)
    else:
        assert same(a) == a.ctypes.data
