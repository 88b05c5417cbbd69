"""Calls of every signature shape give ctypes' results, whatever objects the arguments
are: many arguments (past the x86-64 argument registers, 6 integer and 8 vector, so
that some go on the stack), records by value and by pointer, and arguments given as
exact ints, floats and bytes, as subclasses or instances, or through a user
``from_param``.

Behind this are three call paths, each compared here with stdlib ctypes (the oracle,
libffi throughout): the quickest path (exact int/float/bytes arguments converted
inline), the register path (any argument the built-in simple types accept, still
without libffi) and the libffi path (argtypes with a user ``from_param``).
"""

import ctypes as std_ctypes
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes

FAST = settings(max_examples=40, deadline=None)


def call_path(f):
    """How a function's calls go, from the first line of its recipe: "registers"
    (without libffi) or "libffi"."""
    first = f._recipe.split("\n")[0]
    return "registers" if first.startswith("call: in registers") else first.removeprefix("call: ")

CROWDED = ["c_byte", "c_double", "c_ushort", "c_float", "c_longlong", "c_int", "c_double",
           "c_ubyte", "c_short", "c_float", "c_double", "c_uint", "c_double", "c_long",
           "c_double", "c_float", "c_int", "c_double", "c_double"]
SUM14 = ["c_longlong", "c_int", "c_short", "c_byte", "c_longlong", "c_int", "c_longlong",
         "c_int", "c_short", "c_byte", "c_ushort", "c_ubyte", "c_uint", "c_longlong"]
SIGNATURES = {
    # name: (restype, argtypes)
    "ft_add_int": ("c_int", ["c_int"] * 2),
    "ft_add6": ("c_int", ["c_int"] * 6),
    "ft_add7": ("c_int", ["c_int"] * 7),
    "ft_add8": ("c_int", ["c_int"] * 8),
    "ft_mixed5": ("c_double", ["c_int", "c_double", "c_long", "c_float", "c_void_p"]),
    "ft_crowded": ("c_double", CROWDED),
    "ft_sum14": ("c_longlong", SUM14),
    "ft_floats10": ("c_float", ["c_float"] * 10),
}


def value_strategy(name):
    if name in ("c_double", "c_float"):
        return st.floats(allow_nan=False, width=32 if name == "c_float" else 64)
    if name == "c_void_p":
        return st.one_of(st.none(), st.integers(0, 2**64 - 1))
    return st.integers(-(2**70), 2**70)  # any int: values wrap around, as in C


def libffi_type(module, name):
    """A parameter type with its own from_param: calls through it use libffi."""
    base = getattr(module, name)
    return type("Via" + name, (base,), {"from_param": classmethod(lambda cls, v: base.from_param(v))})


def functions(fttest_path, name, ft_argtypes=None):
    restype, argtypes = SIGNATURES[name]
    ftlib, stdlib = ferrotypes.CDLL(fttest_path), std_ctypes.CDLL(fttest_path)
    ftf, stdf = ftlib[name], stdlib[name]
    ftf.restype, stdf.restype = getattr(ferrotypes, restype), getattr(std_ctypes, restype)
    ftf.argtypes = ft_argtypes or [getattr(ferrotypes, t) for t in argtypes]
    stdf.argtypes = [getattr(std_ctypes, t) for t in argtypes]
    return ftf, stdf


def same(a, b):
    if isinstance(a, float):
        return struct.pack("d", a) == struct.pack("d", b)
    return a == b


@pytest.mark.parametrize("name", SIGNATURES)
def test_register_and_stack_signatures_take_the_register_path(fttest_path, name):
    ftf, _ = functions(fttest_path, name)
    assert call_path(ftf) == "registers"


def test_signatures_beyond_the_register_path_stack_use_libffi(fttest, ft):
    f = fttest.ft["ft_add8"]
    f.argtypes = [ft.c_int] * 6 + [ft.c_longdouble] + [ft.c_int]
    assert call_path(f) == "libffi"


@pytest.mark.parametrize("name", SIGNATURES)
@FAST
@given(data=st.data())
def test_all_paths_agree_with_ctypes(fttest_path, name, data):
    restype, argtypes = SIGNATURES[name]
    values = [data.draw(value_strategy(t)) for t in argtypes]
    ftf, stdf = functions(fttest_path, name)
    expected = stdf(*values)
    # The quickest path: exact ints, floats and None.
    assert same(ftf(*values), expected)
    # The register path through the general converters: int and float subclasses.
    subclassed = [IntSub(v) if isinstance(v, int) else FloatSub(v) if isinstance(v, float) else v
                  for v in values]
    assert same(ftf(*subclassed), expected)
    # The libffi path: every parameter converted by a user from_param.
    slow, _ = functions(fttest_path, name, [libffi_type(ferrotypes, t) for t in argtypes])
    assert call_path(slow) == "libffi"
    assert same(slow(*values), expected)


class IntSub(int):
    pass


class FloatSub(float):
    pass


def test_crowded_example(fttest_path):
    ftf, _ = functions(fttest_path, "ft_crowded")
    args = [1, 2.0, 3, 4.0, 5, 6, 7.0, 8, 9, 10.0, 11.0, 12, 13.0, 14, 15.0, 16.0, 17, 18.0, 19.0]
    assert ftf(*args) == sum((i + 1) * v for i, v in enumerate(args))


def test_instances_and_byref_on_the_register_path(fttest, ft):
    # Instances of the parameter types are not "exact" objects: the register path
    # converts them through the general converters and gives the same result.
    f = fttest.ft["ft_add_int"]
    f.argtypes = [ft.c_int, ft.c_int]
    assert f(ft.c_int(3), 4) == f(3, ft.c_int(4)) == f(True, 6) == 7


def test_fast_path_errors_are_the_general_paths_errors(fttest, ft, std):
    ftf, stdf = fttest.ft["ft_add_int"], fttest.std["ft_add_int"]
    ftf.argtypes, stdf.argtypes = [ft.c_int] * 2, [std.c_int] * 2
    for bad in (1.5, "x", None, b"b"):
        with pytest.raises(ft.ArgumentError) as got:
            ftf(1, bad)
        with pytest.raises(std.ArgumentError) as want:
            stdf(1, bad)
        # Same position and cause type; ferrotypes' text also names the types.
        assert str(got.value).split(":")[:2] == str(want.value).split(":")[:2]
    with pytest.raises(TypeError):
        ftf(1)


def test_char_pointer_fast_path_passes_the_bytes_buffer(fttest, ft):
    f = fttest.ft["ft_strlen"]
    f.argtypes, f.restype = [ft.c_char_p], ft.c_size_t
    assert f(b"hello world") == 11
    assert f(None) == 0


def test_pydll_fast_path_raises_the_python_error(ft):
    # An int argument (the quickest path); the C API function sets ValueError.
    api = ft.pythonapi.PyUnicode_FromOrdinal
    api.argtypes, api.restype = [ft.c_int], ft.py_object
    assert call_path(api) == "registers"
    assert api(0x41) == "A"
    with pytest.raises(ValueError):
        api(0x110000)


def test_errcheck_and_check_retval_run_after_the_fast_path(fttest, ft):
    f = fttest.ft["ft_add_int"]
    f.argtypes, f.restype = [ft.c_int] * 2, ft.c_int
    f.errcheck = lambda result, func, args: (result, args)
    assert f(2, 3) == (5, (2, 3))
    del f.errcheck
    assert f(2, 3) == 5


def test_calls_release_what_they_keep_alive_at_once(fttest, ft):
    # The call path holds its references as Bounds: nothing a call kept alive may
    # linger (in PyO3's deferred-release pool, say) after the call returns.
    import sys

    identity = ft.pythonapi.Py_IncRef  # void Py_IncRef(PyObject *): a py_object argument
    identity.argtypes, identity.restype = [ft.py_object], None
    decref = ft.pythonapi.Py_DecRef
    decref.argtypes, decref.restype = [ft.py_object], None
    obj = object()
    before = sys.getrefcount(obj)
    for _ in range(50):
        identity(obj)
        decref(obj)
    assert sys.getrefcount(obj) == before

    wide = fttest.ft["ft_id_wcharp"]
    wide.restype = ft.c_wchar_p
    text = "kept for the call only"
    before = sys.getrefcount(text)
    for _ in range(50):
        assert wide(text) == text
    assert sys.getrefcount(text) == before

    class Param:
        def __init__(self, value):
            self._as_parameter_ = value

    arg = ft.c_int(7)
    wrapped = Param(arg)
    add = fttest.ft["ft_add_int"]
    before = sys.getrefcount(arg)
    for _ in range(50):
        assert add(wrapped, 1) == 8
    assert sys.getrefcount(arg) == before


# --- records by value and by pointer (tests/clib/records.c) ---------------------------

# The records' fields: a scalar type's name, or (element type, length) for an array.
RECORDS = {
    "Point3": [("x", "c_int"), ("y", "c_int"), ("z", "c_double")],
    "LPair": [("a", "c_long"), ("b", "c_long")],
    "DPair": [("a", "c_double"), ("b", "c_double")],
    "Bytes3": [("a", "c_ubyte"), ("b", "c_byte"), ("c", "c_ubyte")],
    "Chars7": [("s", ("c_byte", 7))],
    "FloatInt": [("f", "c_float"), ("i", "c_int")],
    "Vec3f": [("x", "c_float"), ("y", "c_float"), ("z", "c_float")],
    "DFloat": [("d", "c_double"), ("f", "c_float")],
    "Big": [("a", "c_long"), ("b", "c_long"), ("c", "c_long"), ("d", "c_double"), ("name", ("c_char", 8))],
}
RECORD_SIGNATURES = {
    # name: (restype, argtypes, call path)
    "ft_point3_sum": ("c_double", ["Point3"], "registers"),
    "ft_lpair_after_five": ("c_long", ["c_long"] * 5 + ["LPair", "c_long"], "registers"),
    "ft_dpair_after_seven": ("c_double", ["c_double"] * 7 + ["DPair", "c_double"], "registers"),
    "ft_small_records": ("c_double", ["Bytes3", "Chars7", "FloatInt", "Vec3f", "c_short", "DFloat"], "registers"),
    "ft_point3_many": ("c_double", ["Point3"] * 7 + ["DPair", "c_double"], "registers"),
    "ft_big_between": ("c_double", ["c_int", "Big", "c_double"], "registers"),
    "ft_tagged_next": ("Tagged", ["Tagged"], "libffi"),  # a record result
    "ft_big_twice": ("c_double", ["Big", "Big"], "libffi"),  # ten stack words
}
RECORDS["Tagged"] = [("id", "c_int"), ("weight", "c_double")]
INT_RANGES = {"c_byte": 8, "c_ubyte": 8, "c_short": 16, "c_int": 32, "c_long": 64}

_record_types = {}


def record_types(module):
    """The RECORDS as classes of `module` (ferrotypes or ctypes), made once."""
    if module not in _record_types:
        def field_type(t):
            return getattr(module, t[0]) * t[1] if isinstance(t, tuple) else getattr(module, t)
        _record_types[module] = {name: type(name, (module.Structure,), {"_fields_": [(f, field_type(t)) for f, t in fields]})
                                 for name, fields in RECORDS.items()}
    return _record_types[module]


def scalar_strategy(t):
    if t in ("c_double", "c_float"):
        return st.floats(allow_nan=False, allow_infinity=False, width=32 if t == "c_float" else 64)
    if t == "c_char":
        return st.binary(min_size=1, max_size=1)
    bits = INT_RANGES[t]
    signed = not t.startswith("c_u")
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else st.integers(0, 2**bits - 1)


def record_strategy(name):
    """A record's field values, as a dict."""
    def field(t):
        if isinstance(t, tuple):
            if t[0] == "c_char":
                return st.binary(max_size=t[1] - 1)
            return st.lists(scalar_strategy(t[0]), min_size=t[1], max_size=t[1])
        return scalar_strategy(t)
    return st.fixed_dictionaries({f: field(t) for f, t in RECORDS[name]})


def make_arg(module, t, value):
    """The argument of type name `t` with `value` (a record's field dict) for `module`."""
    if t not in RECORDS:
        return value
    cls = record_types(module)[t]
    obj = cls()
    for f, v in value.items():
        if isinstance(v, list):
            getattr(obj, f)[:] = v
        else:
            setattr(obj, f, v)
    return obj


def record_functions(fttest_path, name, wrap=None):
    """The function `name` through ferrotypes and ctypes; `wrap` replaces ferrotypes'
    argument types (given the type and its name)."""
    restype, argtypes, _ = RECORD_SIGNATURES[name]
    ftlib, stdlib = ferrotypes.CDLL(fttest_path), std_ctypes.CDLL(fttest_path)
    ftf, stdf = ftlib[name], stdlib[name]

    def types(module, names):
        return [record_types(module)[t] if t in RECORDS else getattr(module, t) for t in names]
    ftf.restype, = types(ferrotypes, [restype])
    stdf.restype, = types(std_ctypes, [restype])
    ftf.argtypes = [wrap(t, n) if wrap else t for t, n in zip(types(ferrotypes, argtypes), argtypes)]
    stdf.argtypes = types(std_ctypes, argtypes)
    return ftf, stdf


def result_value(r):
    return r if isinstance(r, (int, float)) else bytes(memoryview(r).cast("B"))


def point3_many(*values):
    """ft_point3_many in Python, operation for operation."""
    *points, q, w = values
    s = 0.0
    for i, p in enumerate(points):
        s += (i + 1) * (p["x"] + 10.0 * p["y"] + 100.0 * p["z"])
    return s + 1000.0 * q["a"] + 3000.0 * q["b"] + 7000.0 * w


# Where the stdlib's ctypes is no oracle: libffi before 3.4.7 (libffi PR #848) puts
# the second eightbyte of a record whose first one takes the last integer register
# over the first vector register's value (here p0.z), so ctypes over such a libffi
# gets ft_point3_many wrong; ferrotypes' libffi is 3.5. These are checked against the
# C function's arithmetic done in Python.
MODELS = {"ft_point3_many": point3_many}


@pytest.mark.parametrize("name", RECORD_SIGNATURES)
@FAST
@given(data=st.data())
def test_records_by_value_on_every_path_agree_with_ctypes(fttest_path, name, data):
    restype, argtypes, path = RECORD_SIGNATURES[name]
    values = [data.draw(record_strategy(t) if t in RECORDS else scalar_strategy(t)) for t in argtypes]
    ftf, stdf = record_functions(fttest_path, name)
    assert call_path(ftf) == path
    if name in MODELS:
        expected = MODELS[name](*values)
    else:
        expected = result_value(stdf(*[make_arg(std_ctypes, t, v) for t, v in zip(argtypes, values)]))
    # The quickest path: instances of exactly the argtypes (and exact ints, floats).
    ft_args = [make_arg(ferrotypes, t, v) for t, v in zip(argtypes, values)]
    assert same(result_value(ftf(*ft_args)), expected)
    # The register path's general converters: instances of subclasses.
    subclassed = []
    for t, arg in zip(argtypes, ft_args):
        if t in RECORDS:
            sub = type(t + "Sub", (type(arg),), {})()
            ferrotypes.memmove(ferrotypes.addressof(sub), ferrotypes.addressof(arg), ferrotypes.sizeof(arg))
            arg = sub
        subclassed.append(arg)
    assert same(result_value(ftf(*subclassed)), expected)
    # libffi: every parameter converted by a user from_param.
    slow, _ = record_functions(fttest_path, name, lambda t, n: libffi_type(ferrotypes, n) if n not in RECORDS else
                               type("Via" + n, (t,), {"from_param": classmethod(lambda cls, v: v)}))
    assert call_path(slow) == "libffi"
    assert same(result_value(slow(*ft_args)), expected)


@pytest.fixture
def point3_functions(fttest_path):
    """(module, Point3, by value, by pointer) for ferrotypes and for ctypes."""
    out = []
    for module in (ferrotypes, std_ctypes):
        lib = module.CDLL(fttest_path)
        point = record_types(module)["Point3"]
        by_value, by_pointer = lib["ft_point3_sum"], lib["ft_point3_sum_or"]
        by_value.argtypes, by_value.restype = [point], module.c_double
        by_pointer.argtypes, by_pointer.restype = [module.POINTER(point), module.c_double], module.c_double
        out.append((module, point, by_value, by_pointer))
    return out


def test_pointer_to_record_arguments_agree_with_ctypes(point3_functions):
    results = []
    for module, point, _, by_pointer in point3_functions:
        p = point(1, 2, 0.5)
        arr = (point * 2)(point(3, 4, 0.25), point(5, 6, 0.125))
        sub = type("Point3Sub", (point,), {})(7, 8, 0.75)

        class Holder:
            _as_parameter_ = module.pointer(p)

        results.append([by_pointer(arg, -1.0) for arg in
                        (p, module.byref(p), module.pointer(p), arr, sub, module.byref(sub),
                         module.pointer(sub), None, Holder(), module.cast(arr, module.POINTER(point)))])
    assert results[0] == results[1]
    assert call_path(point3_functions[0][3]) == "registers"


def test_record_argument_errors_are_ctypes_errors(point3_functions):
    messages = []
    for module, point, by_value, by_pointer in point3_functions:
        other = type("Other", (module.Structure,), {"_fields_": [("x", module.c_int)]})
        got = []
        for f, bad in ((by_value, 5), (by_value, None), (by_value, other(1)), (by_value, module.pointer(point())),
                       (by_value, "text"), (by_pointer, 5), (by_pointer, other(1)),
                       (by_pointer, module.byref(other(1))), (by_pointer, module.pointer(other(1))),
                       (by_pointer, (other * 2)())):
            with pytest.raises(module.ArgumentError) as error:
                f(bad, 0.0) if f is by_pointer else f(bad)
            got.append(str(error.value))
        messages.append(got)
    assert messages[0] == messages[1]


def test_record_arguments_from_as_parameter_and_from_param(fttest_path, ft):
    Point3 = record_types(ft)["Point3"]
    f = ft.CDLL(fttest_path)["ft_point3_sum"]
    f.restype = ft.c_double

    class Fresh:
        """A new instance on each access: it must live until the call has read it."""
        @property
        def _as_parameter_(self):
            return Point3(1, 2, 0.5)

    f.argtypes = [Point3]
    assert [f(Fresh()) for _ in range(100)] == [3.5] * 100

    class FromNumber(Point3):
        @classmethod
        def from_param(cls, value):
            return Point3(value, value, 0.25)
    f.argtypes = [FromNumber]
    assert call_path(f) == "libffi"
    assert f(4) == 8.25

    class Wrong(Point3):
        @classmethod
        def from_param(cls, value):
            return value  # an int, not a record: refused (ctypes passes garbage)
    f.argtypes = [Wrong]
    with pytest.raises(ft.ArgumentError, match="expected Wrong instance instead of int"):
        f(4)
    f.argtypes = [Point3]
    p = Point3(1, 2, 0.5)
    # ctypes crashes here (its own from_param returns the byref as it is).
    with pytest.raises(ft.ArgumentError, match="expected Point3 instance instead of pointer to Point3"):
        f(ft.byref(p))


def test_record_calls_keep_no_references(point3_functions):
    import sys

    module, point, by_value, by_pointer = point3_functions[0]
    p = point(1, 2, 0.5)
    r = module.byref(p)
    before = sys.getrefcount(p), sys.getrefcount(r)
    for _ in range(100):
        by_value(p)
        by_pointer(p, 0.0)
        by_pointer(r, 0.0)
    assert (sys.getrefcount(p), sys.getrefcount(r)) == before


def test_pointer_to_simple_arguments_on_the_quickest_path_agree_with_ctypes(fttest_path):
    # ft_scale_inout(int *x, int k): *x *= k, returns the new *x.
    results = []
    for module in (ferrotypes, std_ctypes):
        f = module.CDLL(fttest_path)["ft_scale_inout"]
        f.argtypes, f.restype = [module.POINTER(module.c_int), module.c_int], module.c_int
        x = module.c_int(3)
        arr = (module.c_int * 2)(5, 6)
        calls = [f(x, 2), f(module.byref(x), 3), f(module.pointer(x), 4), f(arr, 10)]
        results.append((calls, x.value, list(arr)))
    assert results[0] == results[1]
