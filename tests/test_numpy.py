"""ferrotypes.numpy against numpy.ctypeslib (the oracle), and numpy arrays through C.

- ``as_ctypes_type`` over generated dtypes: the same layout (sizes, offsets, field
  names, element types) as numpy.ctypeslib builds with stdlib ctypes, and the same
  refusals;
- ``ndpointer``: the same acceptance and refusal of generated arrays, with numpy's
  messages (ferrotypes adds what it was given);
- ``as_array``/``as_ctypes`` share memory in both directions;
- calls into tests/clib/arrays.c with ``ndpointer`` argtypes and restype;
- numpy's own ``numpy/tests/test_ctypeslib.py`` run against ferrotypes.numpy;
- the tour's numpy examples: run with numpy, skipped with a clear reason without.
"""

from __future__ import annotations

import ctypes as std
import importlib.util
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from npstrategies import dtypes

np = pytest.importorskip("numpy")
import numpy.ctypeslib as npc  # noqa: E402

import ferrotypes as ft  # noqa: E402
import ferrotypes.numpy as ftn  # noqa: E402

HERE = Path(__file__).resolve().parent


# --- numpy stays optional ------------------------------------------------------------------


def test_importing_ferrotypes_does_not_import_numpy():
    code = "import sys, ferrotypes; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ferrotypes_works_where_numpy_cannot_be_imported():
    code = ("import sys; sys.modules['numpy'] = None\n"
            "import ferrotypes\n"
            "print(ferrotypes.sizeof(ferrotypes.c_int * 3))\n"
            "try:\n    import ferrotypes.numpy\nexcept ImportError:\n    print('refused')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(3 * std.sizeof(std.c_int)), "refused"]


# --- as_ctypes_type ---------------------------------------------------------------------------


def describe(t, lib):
    """A type's layout as plain data, comparable between ctypes and ferrotypes."""
    if issubclass(t, (lib.Structure, lib.Union)):
        kind = "struct" if issubclass(t, lib.Structure) else "union"
        fields = []
        for name, ftype in t._fields_:
            offset = getattr(t, name).offset if name else None
            fields.append((name, offset, describe(ftype, lib)))
        return (kind, lib.sizeof(t), lib.alignment(t), fields)
    if issubclass(t, lib.Array):
        return ("array", t._length_, lib.sizeof(t), describe(t._type_, lib))
    return ("simple", t.__name__, t._type_, lib.sizeof(t))


@settings(max_examples=300, deadline=None)
@given(dtypes)
def test_as_ctypes_type_matches_numpy_ctypeslib(dtype):
    try:
        expected = npc.as_ctypes_type(dtype)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ftn.as_ctypes_type(dtype)
        return
    got = ftn.as_ctypes_type(dtype)
    assert describe(got, ft) == describe(expected, std)
    assert ft.sizeof(got) == dtype.itemsize


def test_as_ctypes_type_refuses_overlapping_fields_and_unknown_scalars():
    overlapping = np.dtype({"names": ["a", "b"], "offsets": [0, 2], "formats": ["u4", "u4"]})
    with pytest.raises(NotImplementedError, match="Overlapping fields"):
        ftn.as_ctypes_type(overlapping)
    for dtype in ("c16", "U3", "M8[s]", "O"):
        with pytest.raises(NotImplementedError) as theirs:
            npc.as_ctypes_type(dtype)
        with pytest.raises(NotImplementedError, match="Converting") as ours:
            ftn.as_ctypes_type(dtype)
        assert type(ours.value) is type(theirs.value)


def test_as_ctypes_type_scalars_keep_byte_order():
    assert ftn.as_ctypes_type("u2") is ft.c_uint16
    assert ftn.as_ctypes_type(">u2") is ft.c_uint16.__ctype_be__
    assert ftn.as_ctypes_type("<u2") is ft.c_uint16.__ctype_le__
    assert ftn.as_ctypes_type(np.intp) is ftn.c_intp
    assert ft.sizeof(ftn.c_intp) == np.dtype(np.intp).itemsize


# --- ndpointer --------------------------------------------------------------------------------


@st.composite
def arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(["<i4", ">i4", "f8", "f4", "u1", "i8"])))
    shape = tuple(draw(st.lists(st.integers(1, 3), max_size=3)))
    a = np.zeros(shape, dtype, order=draw(st.sampled_from("CF")))
    if a.ndim and draw(st.booleans()):
        a = a[tuple(slice(None, None, draw(st.sampled_from([1, 2]))) for _ in shape)]
    if draw(st.booleans()):
        a.flags.writeable = False
    return a


ndpointer_specs = st.fixed_dictionaries({}, optional={
    "dtype": st.sampled_from(["<i4", ">i4", "f8", "f4", "u1"]),
    "ndim": st.integers(0, 3),
    "shape": st.lists(st.integers(1, 3), max_size=3).map(tuple),
    "flags": st.sampled_from(["C_CONTIGUOUS", "F", "CONTIGUOUS,ALIGNED", "W", "WRITEABLE,C", "OWNDATA",
                              ["A", "F_CONTIGUOUS"]]),
})


@settings(max_examples=400, deadline=None)
@given(ndpointer_specs, arrays())
def test_ndpointer_accepts_and_refuses_as_numpy_does(spec, array):
    theirs, ours = npc.ndpointer(**spec), ftn.ndpointer(**spec)
    for attr in ("_dtype_", "_ndim_", "_shape_", "_flags_"):
        assert getattr(ours, attr) == getattr(theirs, attr)
    assert ours.__name__ == theirs.__name__
    try:
        theirs.from_param(array)
    except TypeError as exc:
        with pytest.raises(TypeError) as refused:
            ours.from_param(array)
        assert str(refused.value).startswith(str(exc)), (str(refused.value), str(exc))
    else:
        param = ours.from_param(array)
        assert isinstance(param, ours) and isinstance(param, ft.c_void_p)
        assert param.value == array.ctypes.data


def test_ndpointer_refusals_name_the_expectation_and_what_was_given():
    with pytest.raises(TypeError, match=r"^array must have data type float32, not float64$"):
        ftn.ndpointer(dtype="f4").from_param(np.zeros(2))
    with pytest.raises(TypeError, match=r"^array must have 2 dimension\(s\), not 1$"):
        ftn.ndpointer(ndim=2).from_param(np.zeros(2))
    with pytest.raises(TypeError, match=r"^array must have shape \(3,\), not \(2,\)$"):
        ftn.ndpointer(shape=3).from_param(np.zeros(2))
    with pytest.raises(TypeError, match=r"^array must have flags \['C_CONTIGUOUS'\]; it lacks \['C_CONTIGUOUS'\]$"):
        ftn.ndpointer(flags="C").from_param(np.zeros(4)[::2])
    with pytest.raises(TypeError, match=r"^argument must be an ndarray, not list$"):
        ftn.ndpointer().from_param([1.0])
    with pytest.raises(KeyError, match="unknown array flag 'NOPE'"):
        ftn.ndpointer(flags="NOPE")
    with pytest.raises(TypeError, match="invalid flags specification"):
        ftn.ndpointer(flags=[1, 2])


def test_ndpointer_classes_are_cached_void_pointers():
    assert ftn.ndpointer(dtype=np.float64) is ftn.ndpointer(dtype="f8")
    assert ftn.ndpointer(shape=2) is ftn.ndpointer(shape=(2,))
    assert ftn.ndpointer(shape=2) is not ftn.ndpointer(ndim=2)
    assert issubclass(ftn.ndpointer(ndim=1), ft.c_void_p)


def test_ndpointer_parameter_keeps_the_array_alive():
    param = ftn.ndpointer(dtype="f8").from_param(np.arange(3.0))
    array = param._array
    ref = weakref.ref(array)
    del array
    assert ref() is not None
    assert (ft.c_double * 3).from_address(param.value)[:] == [0.0, 1.0, 2.0]


# --- memory shared both ways -------------------------------------------------------------------


def test_as_array_of_a_ferrotypes_array_shares_memory():
    c = (ft.c_int * 3 * 2)((1, 2, 3), (4, 5, 6))
    a = ftn.as_array(c)
    assert a.shape == (2, 3) and a.dtype == np.dtype(np.intc)
    a[1, 2] = 60
    assert c[1][2] == 60
    c[0][0] = 10
    assert a[0, 0] == 10
    assert a.tolist() == npc.as_array((std.c_int * 3 * 2)((10, 2, 3), (4, 5, 60))).tolist()


def test_as_array_of_a_pointer_needs_a_shape_and_shares_memory():
    c = (ft.c_double * 6)(*range(6))
    p = ft.cast(c, ft.POINTER(ft.c_double))
    with pytest.raises(TypeError, match="requires a shape"):
        ftn.as_array(p)
    a = ftn.as_array(p, shape=(2, 3))
    assert a.tolist() == [[0, 1, 2], [3, 4, 5]]
    a[0, 1] = 42
    assert c[1] == 42.0
    assert ftn.as_array(p, 4).shape == (4,)


def test_as_array_of_structures_gives_the_record_dtype():
    class S(ft.Structure):
        _fields_ = [("a", ft.c_int16), ("b", ft.c_double)]

    c = (S * 2)(S(1, 2.5), S(3, 4.5))
    a = ftn.as_array(c)
    assert a["a"].tolist() == [1, 3] and a["b"].tolist() == [2.5, 4.5]
    a["b"][1] = -1.0
    assert c[1].b == -1.0


def test_as_ctypes_shares_memory_and_keeps_the_array_alive():
    a = np.arange(12, dtype="<i4").reshape(3, 4)
    ref = weakref.ref(a)
    c = ftn.as_ctypes(a)
    assert type(c)._length_ == 3 and type(c)._type_._length_ == 4
    c[2][3] = -7
    del a
    assert ref() is not None
    assert ref()[2, 3] == -7
    assert ftn.as_ctypes(np.array(2.5))._type_ == "d"
    s = ftn.as_ctypes(np.zeros(2, dtype=[("x", "u1"), ("y", ">f8")]))
    s[1].y = 3.0
    assert ftn.as_array(s)["y"].tolist() == [0.0, 3.0]


def test_as_ctypes_refuses_what_cannot_be_shared():
    with pytest.raises(TypeError, match="strided"):
        ftn.as_ctypes(np.arange(6)[::2])
    readonly = np.arange(3)
    readonly.flags.writeable = False
    with pytest.raises(TypeError, match="readonly"):
        ftn.as_ctypes(readonly)
    with pytest.raises(TypeError, match="__array_interface__"):
        ftn.as_ctypes([1, 2, 3])


def test_ndarray_ctypes_data_as_takes_ferrotypes_and_stdlib_types():
    a = np.arange(4.0)
    p = a.ctypes.data_as(ft.POINTER(ft.c_double))
    assert isinstance(p, ft.POINTER(ft.c_double)) and p[3] == 3.0
    ref = weakref.ref(a)
    del a
    assert ref() is not None  # the pointer holds the array
    assert ref().ctypes.data_as(ft.c_void_p).value == ref().ctypes.data
    assert ref().ctypes.data_as(std.POINTER(std.c_double))[2] == 2.0


# --- calls ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def arrays_lib(fttest):
    lib = fttest.ft
    f64_1d = ftn.ndpointer(dtype=np.float64, ndim=1, flags="C_CONTIGUOUS")
    lib.ftnp_sum_doubles.argtypes = [f64_1d, ft.c_size_t]
    lib.ftnp_sum_doubles.restype = ft.c_double
    lib.ftnp_scale_ints.argtypes = [ftn.ndpointer(dtype=np.intc, flags="C,W"), ft.c_size_t, ft.c_int]
    lib.ftnp_scale_ints.restype = None
    lib.ftnp_row_sums.argtypes = [ftn.ndpointer(dtype="f8", ndim=2, flags="C"), ft.c_size_t, ft.c_size_t,
                                ftn.ndpointer(dtype="f8", ndim=1, flags="C,W")]
    lib.ftnp_row_sums.restype = None
    return lib


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), max_size=50))
def test_sum_doubles_through_ndpointer(arrays_lib, values):
    a = np.array(values, dtype=np.float64)
    assert arrays_lib.ftnp_sum_doubles(a, len(a)) == pytest.approx(float(np.sum(a)), rel=1e-9, abs=1e-6)


def test_scale_ints_in_place(arrays_lib):
    a = np.arange(10, dtype=np.intc)
    arrays_lib.ftnp_scale_ints(a, a.size, 3)
    assert a.tolist() == [3 * i for i in range(10)]
    m = np.ones((2, 3), dtype=np.intc)
    arrays_lib.ftnp_scale_ints(m, m.size, -2)
    assert (m == -2).all()


def test_row_sums_of_a_matrix(arrays_lib):
    m = np.arange(12.0).reshape(3, 4)
    out = np.empty(3)
    arrays_lib.ftnp_row_sums(m, 3, 4, out)
    assert out.tolist() == m.sum(axis=1).tolist()


@pytest.mark.parametrize("bad, message", [
    (np.arange(10.0)[::2], "array must have flags ['C_CONTIGUOUS']"),
    (np.arange(5, dtype=np.float32), "array must have data type float64"),
    (np.zeros((5, 1)), "array must have 1 dimension(s)"),
    ([1.0, 2.0], "argument must be an ndarray"),
])
def test_call_refuses_unsuitable_arrays(arrays_lib, bad, message):
    with pytest.raises(ft.ArgumentError) as refused:
        arrays_lib.ftnp_sum_doubles(bad, 5)
    assert str(refused.value).startswith(f"argument 1: TypeError: {message}")


def test_call_refuses_a_read_only_array_for_a_writable_parameter(arrays_lib):
    a = np.arange(4, dtype=np.intc)
    a.flags.writeable = False
    with pytest.raises(ft.ArgumentError, match="WRITEABLE"):
        arrays_lib.ftnp_scale_ints(a, 4, 2)
    assert a.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("dtype", ["f8", [("a", "<i4"), ("b", "<i4")]])
def test_concrete_ndpointer_restype_returns_an_array_view(fttest, dtype):
    lib = fttest.ft
    a = np.zeros((2, 3), dtype)
    kind = ftn.ndpointer(dtype=a.dtype, shape=a.shape)
    lib.ftnp_same_pointer.argtypes = [kind]
    lib.ftnp_same_pointer.restype = kind
    b = lib.ftnp_same_pointer(a)
    assert isinstance(b, np.ndarray) and b.dtype == a.dtype and b.shape == a.shape
    assert b.__array_interface__["data"][0] == a.__array_interface__["data"][0]
    vague = ftn.ndpointer(dtype=a.dtype)
    lib.ftnp_same_pointer.argtypes = [vague]
    lib.ftnp_same_pointer.restype = vague
    assert isinstance(lib.ftnp_same_pointer(a), vague)


def test_load_library_finds_the_test_library(fttest_path):
    directory, filename = os.path.split(fttest_path)
    stem = filename.rsplit(".", 1)[0]
    lib = ftn.load_library(stem, directory)
    assert isinstance(lib, ft.CDLL) and lib is ftn.load_library(filename, directory + os.sep + "x")
    assert lib._name == fttest_path
    with pytest.raises(OSError, match="no file with expected extension"):
        ftn.load_library("no_such_library_here", directory)


# --- numpy's own tests -----------------------------------------------------------------------


def test_numpys_test_ctypeslib_passes_against_ferrotypes():
    spec = importlib.util.spec_from_file_location("_run_numpy_ctypeslib", HERE / "numpy_ctypeslib" / "run.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    result = runner.run(["-rfEs"])
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "failed" not in summary and "error" not in summary, summary
    assert " passed" in summary, summary
    # numpy skips some of its tests on some Python versions; exactly those, as it
    # does against the stdlib's ctypes.
    oracle = runner.run(["-rfEs"], against_stdlib=True)
    assert oracle.returncode == 0, oracle.stdout + oracle.stderr
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skipped == [line for line in oracle.stdout.splitlines() if line.startswith("SKIPPED")]


# --- the tour -----------------------------------------------------------------------------------


def _tour(args, block_numpy=False):
    prelude = "import sys; sys.modules['numpy'] = None\n" if block_numpy else ""
    code = prelude + "import sys\nfrom ferrotypes.tour import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=600, cwd=HERE)


def test_tour_runs_the_numpy_examples():
    result = _tour(["-k", "numpy", "-k", "ndpointer", "-k", "record array", "-k", "float**"])
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("tour: ") and last.endswith(" failed, 0 skipped") and ", 0 failed" in last, last
    assert int(last.split()[1]) >= 5, last


def test_tour_says_when_numpy_is_not_installed():
    result = _tour(["--list", "-k", "ndpointer"], block_numpy=True)
    assert result.returncode == 0, result.stderr
    assert "skipped: needs numpy (numpy is not installed)" in result.stdout, result.stdout
