"""Callbacks and function pointers: C calling Python through CFUNCTYPE prototypes.

The C side is tests/clib/callbacks.c (``ftcb_*``).  Where ctypes behaves well the
tests are differential: the same callback runs through ferrotypes and through the
stdlib's ctypes and the results, the arguments the callable saw and the
unraisable reports are compared.  Where ctypes crashes (a callback called after
it was collected) ferrotypes' own promise is checked, in a subprocess.
"""

from __future__ import annotations

import ctypes
import gc
import math
import os
import re
import subprocess
import sys
import textwrap
import threading
import weakref

import pytest

import ferrotypes
from conftest import _load_clib_builder

# These tests free, reuse and call memory in ways that could crash the interpreter.
pytestmark = pytest.mark.isolated


def both(fttest):
    return ((ferrotypes, fttest.ft), (__import__("ctypes"), fttest.std))


class Unraisable:
    """Collects sys.unraisablehook reports for the duration of a with block."""

    def __enter__(self):
        self.reports = []
        self._old = sys.unraisablehook
        sys.unraisablehook = self.reports.append
        return self

    def __exit__(self, *exc):
        sys.unraisablehook = self._old


# ---------------------------------------------------------------------------
# Every simple argument and result kind
# ---------------------------------------------------------------------------

KINDS = [
    ("bool", "c_bool", [True, False]),
    ("char", "c_char", [b"x", b"\xff"]),
    ("schar", "c_byte", [-128, 127, -3]),
    ("uchar", "c_ubyte", [0, 255]),
    ("short", "c_short", [-32768, 32767]),
    ("ushort", "c_ushort", [65535]),
    ("int", "c_int", [-(2**31), 2**31 - 1, 0]),
    ("uint", "c_uint", [2**32 - 1]),
    ("long", "c_long", [-(2**63), 2**63 - 1]),
    ("ulong", "c_ulong", [2**64 - 1]),
    ("longlong", "c_longlong", [-(2**63)]),
    ("ulonglong", "c_ulonglong", [2**64 - 1]),
    ("float", "c_float", [1.5, -0.0, math.inf]),
    ("double", "c_double", [math.pi, -1e300]),
    ("longdouble", "c_longdouble", [2.5, -1e300]),
    ("wchar", "c_wchar", ["\u20ac", "x"]),
    ("voidp", "c_void_p", [0x1234, None]),
]


@pytest.mark.parametrize("cname,tname,values", KINDS, ids=[k[0] for k in KINDS])
def test_every_simple_kind_round_trips_like_ctypes(fttest, cname, tname, values):
    for value in values:
        outcomes = []
        for mod, lib in both(fttest):
            t = getattr(mod, tname)
            proto = mod.CFUNCTYPE(t, t)
            seen = []

            def cb(x, seen=seen):
                seen.append(x)
                return x

            f = lib["ftcb_pass_" + cname]
            f.argtypes = [proto, t]
            f.restype = t
            outcomes.append((f(proto(cb), value), seen))
        assert outcomes[0] == outcomes[1], (value, outcomes)


class _IntSubclass(int):
    pass


class _FloatSubclass(float):
    pass


# What the callable returns, whatever C passed: values that wrap around in narrow and
# unsigned results, beyond 64 bits, int and float subclasses, bool, and a float for an
# integer result (an error ctypes reports).
ODD_RESULTS = [2**40 + 300, -1, 2**70 + 3, -(2**64) - 5, True, _IntSubclass(-129), 7.5, _FloatSubclass(2.25), "x"]


@pytest.mark.parametrize("cname,tname", [(c, t) for c, t, _ in KINDS if t in (
    "c_byte", "c_ubyte", "c_short", "c_ushort", "c_int", "c_uint", "c_long", "c_ulong",
    "c_longlong", "c_ulonglong", "c_double", "c_float", "c_bool")])
def test_results_of_every_python_type_convert_like_ctypes(fttest, cname, tname):
    """The per-prototype fast result conversion (exact int, exact float) and the
    general one it falls back to give what ctypes gives, reports included."""
    for odd in ODD_RESULTS:
        outcomes = []
        for mod, lib in both(fttest):
            t = getattr(mod, tname)
            proto = mod.CFUNCTYPE(t, t)
            f = lib["ftcb_pass_" + cname]
            f.argtypes = [proto, t]
            f.restype = t
            with Unraisable() as u:
                got = f(proto(lambda x, odd=odd: odd), 1)
            # 3.13 names the callable, at its own address, in the message.
            reports = [(re.sub(r" at 0x[0-9a-f]+", "", r.err_msg), type(r.exc_value)) for r in u.reports]
            outcomes.append((got, reports))
        (ft_got, ft_reports), (std_got, std_reports) = outcomes
        assert ft_reports == std_reports, (tname, odd, outcomes)
        # After a reported failure ctypes returns whatever its result buffer held;
        # ferrotypes returns zero.
        assert ft_got == (0 if ft_reports else std_got), (tname, odd, outcomes)


def test_char_pointer_arguments_arrive_as_bytes(fttest):
    got = []
    for mod, lib in both(fttest):
        proto = mod.CFUNCTYPE(mod.c_void_p, mod.c_char_p)
        seen = []

        def cb(s, seen=seen):
            seen.append(s)
            return 0

        f = lib["ftcb_pass_charp"]
        f.argtypes = [proto, mod.c_char_p]
        f.restype = mod.c_void_p
        f(proto(cb), b"hello")
        f(proto(cb), None)
        got.append(seen)
    assert got[0] == got[1] == [[b"hello", None]][0]


def test_many_mixed_arguments(fttest):
    results = []
    for mod, lib in both(fttest):
        proto = mod.CFUNCTYPE(mod.c_double, mod.c_byte, mod.c_ushort, mod.c_int, mod.c_longlong,
                              mod.c_float, mod.c_double, mod.c_void_p, mod.c_int, mod.c_int,
                              mod.c_double, mod.c_long)
        seen = []

        def cb(*args, seen=seen):
            seen.append(args)
            return sum(a for a in args if isinstance(a, (int, float)))

        f = lib.ftcb_mixed
        f.argtypes = [proto, mod.c_void_p]
        f.restype = mod.c_double
        results.append((f(proto(cb), 0x1000), seen))
    assert results[0] == results[1]
    assert results[0][1][0][:3] == (-3, 65000, -100000)


@pytest.mark.parametrize("count", [1, 6, 16, 17, 40])
@pytest.mark.parametrize("argtype", ["c_int", "c_double", "c_ubyte", "Point"])
def test_argument_counts_around_the_stack_array_like_ctypes(count, argtype):
    """Calling a callback object goes through its C code, so every argument count
    reaches the handler: up to 16 arguments are kept on the stack, more on the heap."""
    outcomes = []
    for mod in (ctypes, ferrotypes):
        class Point(mod.Structure):
            _fields_ = [("x", mod.c_int), ("y", mod.c_int)]

        cls = Point if argtype == "Point" else getattr(mod, argtype)
        proto = mod.CFUNCTYPE(mod.c_long, *[cls] * count)
        seen = []

        def cb(*args, seen=seen):
            seen.append([(a.x, a.y) if isinstance(a, mod.Structure) else a for a in args])
            return len(args) * 1000 + (int(args[-1]) if not isinstance(args[-1], mod.Structure) else args[-1].y)

        values = [Point(i, -i) if argtype == "Point" else cls(i + 1).value for i in range(count)]
        outcomes.append((proto(cb)(*values), seen))
    assert outcomes[0] == outcomes[1]


class _Adder:
    def __init__(self, k):
        self.k = k

    def add(self, x):
        return x + self.k

    def __call__(self, x):
        return x + self.k


def _raises(x):
    raise KeyError(x)


@pytest.mark.parametrize("make", [
    lambda: (lambda x: x + 1),
    lambda: _Adder(2).add,
    lambda: _Adder(3),
    lambda: abs,
    lambda: __import__("functools").partial(max, 10),
    lambda: _raises,
    lambda: (lambda x, *rest, **kw: x * 2),
], ids=["lambda", "bound_method", "callable_object", "builtin", "partial", "raises", "varargs"])
def test_every_kind_of_callable_is_called_like_ctypes(fttest, make):
    """Python functions are called through their vectorcall slot directly, everything
    else through PyObject_Vectorcall: the results, and what a raising callable
    reports, are ctypes'."""
    outcomes = []
    for mod, lib in both(fttest):
        proto = mod.CFUNCTYPE(mod.c_int, mod.c_int)
        f = lib.ftcb_call_n
        f.argtypes = [proto, mod.c_int]
        f.restype = mod.c_long
        old = sys.unraisablehook
        caught = []
        sys.unraisablehook = caught.append
        try:
            total = f(proto(make()), 5)
        finally:
            sys.unraisablehook = old
        outcomes.append((total, [type(c.exc_value) for c in caught]))
    (ft_total, ft_reports), (std_total, std_reports) = outcomes
    assert ft_reports == std_reports
    # ctypes leaves a failed callback's result unset; ferrotypes returns zero.
    assert ft_total == (0 if ft_reports else std_total)


def test_an_argument_that_fails_to_convert_skips_the_callable():
    """An argument that cannot become a Python value (a py_object holding NULL): like
    ctypes, the callable is not called and the failure is reported. ctypes prints it
    through sys.excepthook and returns an unset value; ferrotypes reports it as
    unraisable, naming the argument, and returns zero."""
    called = {}
    for mod in (ctypes, ferrotypes):
        proto = mod.CFUNCTYPE(mod.c_int, mod.c_int, mod.py_object)
        calls = called[mod.__name__] = []
        cb = proto(lambda a, b, calls=calls: calls.append((a, b)) or 7)
        old_unraisable, old_except = sys.unraisablehook, sys.excepthook
        caught = []
        sys.unraisablehook = caught.append
        sys.excepthook = lambda *exc: None
        try:
            result = cb(1, mod.py_object())
        finally:
            sys.unraisablehook, sys.excepthook = old_unraisable, old_except
    assert called == {"ctypes": [], "ferrotypes": []}
    assert result == 0
    assert [type(c.exc_value) for c in caught] == [ValueError]
    assert "argument 2" in caught[0].err_msg


# ---------------------------------------------------------------------------
# Register-only signatures (static trampolines) and their boundaries
# ---------------------------------------------------------------------------

# Python source for a fresh process: `ranges`, the executable mappings of
# ferrotypes' extension module, where the static trampolines are.
EXTENSION_CODE_RANGES = textwrap.dedent("""
    import os, ferrotypes
    _path = os.path.realpath(ferrotypes._ctypes.__file__)
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and "x" in fields[1] and os.path.realpath(fields[5]) == _path:
                ranges.append([int(x, 16) for x in fields[0].split("-")])
""")


def _register_signatures(mod):
    """The C side's register-boundary callbacks: name, prototype, the call's extra
    arguments, and whether every argument travels in a register."""
    m = mod
    return [
        ("ftcb_registers_full",
         m.CFUNCTYPE(m.c_double, m.c_byte, m.c_float, m.c_ushort, m.c_double, m.c_double,
                     m.c_longlong, m.c_float, m.c_void_p, m.c_double, m.c_int, m.c_float,
                     m.c_bool, m.c_double, m.c_float), (0x1234,), m.c_double, True),
        ("ftcb_seven_ints",
         m.CFUNCTYPE(m.c_long, m.c_int, m.c_int, m.c_int, m.c_int, m.c_int, m.c_int, m.c_long),
         (), m.c_long, False),
        ("ftcb_nine_doubles",
         m.CFUNCTYPE(m.c_double, *[m.c_double] * 8, m.c_float), (), m.c_double, False),
        ("ftcb_float_mix",
         m.CFUNCTYPE(m.c_float, m.c_float, m.c_char, m.c_short, m.c_double, m.c_ubyte),
         (-2.75,), m.c_float, True),
    ]


@pytest.mark.parametrize("index", range(4), ids=["registers_full", "seven_ints", "nine_doubles", "float_mix"])
def test_register_boundary_signatures_like_ctypes(fttest, index):
    outcomes = []
    for mod, lib in both(fttest):
        name, proto, extra, restype, _ = _register_signatures(mod)[index]
        seen = []

        def cb(*args, seen=seen):
            seen.append(args)
            return sum(a for a in args if isinstance(a, (int, float))) if restype is not mod.c_float else args[0] * 2

        f = lib[name]
        f.argtypes = [proto] + [mod.c_void_p if isinstance(e, int) else mod.c_float for e in extra]
        f.restype = restype
        outcomes.append((f(proto(cb), *extra), seen))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1], "the callback ran"


@pytest.mark.skipif(not (sys.platform.startswith("linux") and os.uname().machine == "x86_64"),
                    reason="static trampolines exist on x86_64 System V only")
def test_register_only_callbacks_run_on_static_trampolines():
    """A static trampoline is code of the extension itself, a libffi closure lives in
    libffi's own mappings. In a fresh process: callbacks that earlier tests released
    may hold every static trampoline until the quarantine lets them go."""
    code = EXTENSION_CODE_RANGES + textwrap.dedent("""
        import ferrotypes as ct
        assert ranges
        def fr(*args):
            return 0
        for i, proto in enumerate(ct.CFUNCTYPE(*sig) for sig in [
            (ct.c_double, ct.c_byte, ct.c_float, ct.c_ushort, ct.c_double, ct.c_double, ct.c_longlong,
             ct.c_float, ct.c_void_p, ct.c_double, ct.c_int, ct.c_float, ct.c_bool, ct.c_double, ct.c_float),
            (ct.c_float, ct.c_float, ct.c_char, ct.c_short, ct.c_double, ct.c_ubyte),
            (None,),
            (ct.c_long, ct.c_int, ct.c_int, ct.c_int, ct.c_int, ct.c_int, ct.c_int, ct.c_long),
            (ct.c_double, *[ct.c_double] * 9),
            (ct.c_longdouble, ct.c_int),
            (ct.c_int, ct.c_longdouble),
        ]):
            address = ct.cast(proto(fr), ct.c_void_p).value
            print(i, any(lo <= address < hi for lo, hi in ranges))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "True", "1", "True", "2", "True", "3", "False",
                                  "4", "False", "5", "False", "6", "False"]


# ---------------------------------------------------------------------------
# Structures by value
# ---------------------------------------------------------------------------

def record_types(mod):
    """The C side's ftcb_point, ftcb_vec2, ftcb_tagf and ftcb_big."""
    class Point(mod.Structure):
        _fields_ = [("x", mod.c_int), ("y", mod.c_int)]

    class Vec2(mod.Structure):
        _fields_ = [("x", mod.c_double), ("y", mod.c_double)]

    class Mixed(mod.Structure):
        _fields_ = [("tag", mod.c_char), ("f", mod.c_float), ("s", mod.c_short)]

    class Big(mod.Structure):
        _fields_ = [("a", mod.c_long), ("b", mod.c_long), ("c", mod.c_long), ("d", mod.c_double)]

    return Point, Vec2, Mixed, Big


def test_structure_arguments_arrive_as_copies_like_ctypes(fttest):
    results = []
    for mod, lib in both(fttest):
        Point, Vec2, Mixed, Big = record_types(mod)
        seen = []

        def on_point(p, k):
            seen.append((type(p).__name__, p.x, p.y))
            p.x = 0  # a copy: C's value does not change
            return p.y * k

        def on_vecs(u, t, v):
            seen.append((u.x, u.y, t, v.x, v.y))
            return u.x * v.y + t

        def on_mixed(i, m):
            seen.append((i, m.tag, m.f, m.s))
            return m.f * m.s + i

        def on_big(i, b, d):
            seen.append((i, b.a, b.b, b.c, b.d, d))
            return (b.a + b.b + b.c) * d + b.d

        calls = [
            ("ftcb_point_arg", mod.CFUNCTYPE(mod.c_int, Point, mod.c_int), on_point, mod.c_int, (mod.c_int,) * 3, (3, -4, 5)),
            ("ftcb_vec2_args", mod.CFUNCTYPE(mod.c_double, Vec2, mod.c_double, Vec2), on_vecs, mod.c_double, (mod.c_double,) * 2, (1.5, 2.5)),
            ("ftcb_tagf_arg", mod.CFUNCTYPE(mod.c_double, mod.c_int, Mixed), on_mixed, mod.c_double, (mod.c_char, mod.c_float, mod.c_short), (b"q", 0.25, -300)),
            ("ftcb_big_arg", mod.CFUNCTYPE(mod.c_double, mod.c_int, Big, mod.c_double), on_big, mod.c_double, (mod.c_long,) * 3 + (mod.c_double,), (2**40, -7, 9, 0.125)),
        ]
        returned = []
        for name, proto, func, restype, argtypes, args in calls:
            f = lib[name]
            f.restype = restype
            f.argtypes = [proto, *argtypes]
            returned.append(f(proto(func), *args))
        results.append((returned, seen))
    assert results[0] == results[1]
    assert results[0][0] == [-20, 1.5 * -1.5 + 0.5, 0.25 * -300 + 7, (2**40 + 2) * 2.0 + 0.125]


def test_structure_results_are_written_back_for_c(fttest):
    """ctypes refuses structure results for callbacks; ferrotypes writes them: an
    instance of the class, or a tuple to make one from."""
    Point, Vec2, Mixed, Big = record_types(ferrotypes)
    ct = ferrotypes
    cases = [
        ("ftcb_point_result", ct.CFUNCTYPE(Point, ct.c_int, ct.c_int), lambda x, y: Point(y, x), ct.c_long, (ct.c_int, ct.c_int), (3, -4), -4 * 1000 + 3),
        ("ftcb_point_result", ct.CFUNCTYPE(Point, ct.c_int, ct.c_int), lambda x, y: (x + 1, y + 1), ct.c_long, (ct.c_int, ct.c_int), (3, -4), 4 * 1000 - 3),
        ("ftcb_vec2_result", ct.CFUNCTYPE(Vec2, ct.c_double), lambda v: Vec2(v, -v), ct.c_double, (ct.c_double,), (0.5,), 4.5),
        ("ftcb_tagf_result", ct.CFUNCTYPE(Mixed), lambda: Mixed(b"\x02", 1.5, -7), ct.c_double, (), (), 20000 + 150 - 7),
        ("ftcb_big_result", ct.CFUNCTYPE(Big, ct.c_long), lambda v: Big(v, 2 * v, 3 * v, 0.5), ct.c_double, (ct.c_long,), (2**33,), 6 * 2**33 + 0.5),
    ]
    for name, proto, func, restype, argtypes, args, expected in cases:
        f = fttest.ft[name]
        f.restype = restype
        f.argtypes = [proto, *argtypes]
        assert f(proto(func), *args) == expected, name
    # Called from Python, the result is an instance as for any function.
    p = ct.CFUNCTYPE(Point, ct.c_int, ct.c_int)(lambda x, y: Point(x * 2, y * 2))(3, 4)
    assert (type(p), p.x, p.y) == (Point, 6, 8)
    # The stdlib refuses these prototypes' callbacks.
    StdPoint = record_types(__import__("ctypes"))[0]
    with pytest.raises(TypeError, match="invalid result type"):
        __import__("ctypes").CFUNCTYPE(StdPoint)(lambda: None)


def test_wrong_structure_result_is_reported_and_zero_returned(fttest):
    Point = record_types(ferrotypes)[0]
    proto = ferrotypes.CFUNCTYPE(Point, ferrotypes.c_int, ferrotypes.c_int)
    f = fttest.ft["ftcb_point_result"]
    f.restype = ferrotypes.c_long
    f.argtypes = [proto, ferrotypes.c_int, ferrotypes.c_int]
    with Unraisable() as u:
        assert f(proto(lambda x, y: 42), 1, 2) == 0
        assert f(proto(lambda x, y: (1, 2, 3)), 1, 2) == 0
    assert [type(r.exc_value) for r in u.reports] == [TypeError, TypeError]
    assert "expected Point instance or tuple, got int" in str(u.reports[0].exc_value)
    # 3.13 names the callable after the words, as its ctypes does.
    assert all("on converting result of ctypes callback function" in r.err_msg for r in u.reports)


def test_packed_structure_results_are_refused_like_arguments(fttest):
    class Packed(ferrotypes.Structure):
        _pack_ = 1
        _fields_ = [("a", ferrotypes.c_char), ("b", ferrotypes.c_int)]

    with pytest.raises(TypeError):
        ferrotypes.CFUNCTYPE(Packed)(lambda: None)


def test_array_argument_is_an_instance_over_the_callers_array(fttest):
    """C passes an array parameter as a pointer; the callback gets the array over
    that memory (ctypes copies the bytes at the pointer's own address instead)."""
    seen = []

    def cb(array, n):
        seen.append(list(array))
        array[0] = 100
        return sum(array[:n])

    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int * 4, ferrotypes.c_int)
    f = fttest.ft["ftcb_array_arg"]
    f.argtypes = [proto]
    assert f(proto(cb)) == (100 + 2 + 3 + 4) + 100
    assert seen == [[1, 2, 3, 4]]


def test_pointer_argument_is_an_instance_over_the_memory(fttest):
    for mod, lib in both(fttest):
        proto = mod.CFUNCTYPE(None, mod.POINTER(mod.c_int))

        def cb(p):
            assert isinstance(p, mod.POINTER(mod.c_int))
            p[0] = p[0] * 10 + 2

        f = lib.ftcb_out
        f.argtypes = [proto, mod.c_int]
        assert f(proto(cb), 4) == 42


# ---------------------------------------------------------------------------
# Errors inside callbacks: reported, zero returned, the C caller goes on
# ---------------------------------------------------------------------------

def _reports_for(mod, lib, func):
    proto = mod.CFUNCTYPE(mod.c_int, mod.c_int)
    f = lib["ftcb_call_n"]
    f.argtypes = [proto, mod.c_int]
    f.restype = mod.c_long
    with Unraisable() as u:
        total = f(proto(func), 3)
    return total, [(r.err_msg, type(r.exc_value), r.object is func) for r in u.reports]


def test_exception_goes_to_unraisablehook_like_ctypes(fttest):
    def boom(x):
        raise ValueError(x)

    (ft_total, ft_reports), (_, std_reports) = (_reports_for(m, l, boom) for m, l in both(fttest))
    assert ft_reports == std_reports
    message, kind, _ = ft_reports[0]
    # 3.13 names the callable in the message instead of passing it as the object.
    assert message.startswith("Exception ignored on calling ctypes callback function") and kind is ValueError
    assert len(ft_reports) == 3
    assert ft_total == 0  # every failed call returned zero


def test_wrong_result_type_is_reported_like_ctypes(fttest):
    def wrong(x):
        return "not an int"

    (ft_total, ft_reports), (_, std_reports) = (_reports_for(m, l, wrong) for m, l in both(fttest))
    assert ft_reports == std_reports
    assert ft_reports[0][0].startswith("Exception ignored on converting result of ctypes callback function")
    assert ft_total == 0


def test_some_calls_fail_others_count(fttest):
    def odd_only(x):
        if x % 2 == 0:
            raise KeyError(x)
        return x

    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int)
    f = fttest.ft["ftcb_call_n"]
    f.argtypes = [proto, ferrotypes.c_int]
    f.restype = ferrotypes.c_long
    with Unraisable() as u:
        assert f(proto(odd_only), 10) == 1 + 3 + 5 + 7 + 9
    assert len(u.reports) == 5


# ---------------------------------------------------------------------------
# Making prototypes and function pointers: bad input
# ---------------------------------------------------------------------------

def test_non_callable_is_a_type_error():
    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_int)
    with pytest.raises(TypeError, match="callable or integer"):
        proto("not callable")
    with pytest.raises(TypeError):
        proto(3.5)


def test_bad_argtypes_are_type_errors():
    with pytest.raises(TypeError, match="item 2 in _argtypes_ has no from_param"):
        ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int, 42)
    with pytest.raises(TypeError, match="invalid result type for callback"):
        ferrotypes.CFUNCTYPE(ferrotypes.POINTER(ferrotypes.c_double))(lambda: None)
    with pytest.raises(TypeError, match="invalid result type for callback"):
        ferrotypes.CFUNCTYPE(object)(lambda: None)


def test_null_function_pointer_raises_value_error(fttest):
    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int)
    with pytest.raises(ValueError, match="NULL function pointer"):
        proto(0)(1)
    f = fttest.ft["ftcb_get_null"]
    f.restype = proto
    g = f()
    assert not g
    with pytest.raises(ValueError):
        g(1)


def test_wrong_argument_for_function_pointer_parameter(fttest):
    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int)
    f = fttest.ft["ftcb_call_n"]
    f.argtypes = [proto, ferrotypes.c_int]
    with pytest.raises(ferrotypes.ArgumentError, match="expected CFunctionType instance instead of function"):
        f(lambda x: x, 3)


# ---------------------------------------------------------------------------
# Function pointers from C, and stored callbacks
# ---------------------------------------------------------------------------

def test_function_pointer_returned_from_c_is_callable(fttest):
    for mod, lib in both(fttest):
        proto = mod.CFUNCTYPE(mod.c_int, mod.c_int)
        f = lib["ftcb_get_twice"]
        f.restype = proto
        twice = f()
        assert isinstance(twice, proto)
        assert twice(21) == 42


def test_callback_stored_in_c_and_called_later(fttest):
    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int)
    store = fttest.ft["ftcb_store"]
    store.argtypes = [proto]
    call = fttest.ft["ftcb_call_stored"]
    cb = proto(lambda x: x * 3)
    store(cb)
    assert call(14) == 42
    address = fttest.ft["ftcb_stored_address"]
    address.restype = ferrotypes.c_void_p
    assert address() == ferrotypes.cast(cb, ferrotypes.c_void_p).value
    store(proto(0))  # leave no Python callback behind in the shared library


def test_callback_keeps_its_callable_alive_and_releases_it():
    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int)

    def func(x):
        return x

    base = sys.getrefcount(func)
    cb = proto(func)
    # As in ctypes: {'0': <its thunk>}, the object that owns the trampoline.
    (thunk,) = cb._objects.values()
    assert type(thunk).__name__ == "CThunkObject"
    del thunk
    assert list(cb._objects) == list(__import__("ctypes").CFUNCTYPE(None)(func)._objects)
    assert sys.getrefcount(func) > base
    del cb
    gc.collect()
    assert sys.getrefcount(func) == base


def test_dropping_callbacks_releases_callable_and_kept_argument_at_once(fttest):
    """Without a collection, as in ctypes: deallocating a callback object lets go of
    its callable and of the argument instance it kept for reuse. Several callbacks,
    so that thunks made after the first (which fixes how they are laid out and freed)
    are seen too; a lambda each time, as a loop making callbacks would."""
    proto = ferrotypes.CFUNCTYPE(None, ferrotypes.POINTER(ferrotypes.c_int))
    out = fttest.ft["ftcb_out"]
    out.argtypes = [proto, ferrotypes.c_int]
    out.restype = ferrotypes.c_int
    for k in range(5):
        seen = []

        def bump(p, seen=seen, k=k):
            p[0] += k
            seen.append(weakref.ref(p))

        base = sys.getrefcount(bump)
        cb = proto(bump)
        assert out(cb, 10) == 10 + k
        assert sys.getrefcount(bump) > base
        assert seen[0]() is not None, "the argument instance is kept for the next call"
        del cb
        assert sys.getrefcount(bump) == base
        assert seen[0]() is None
    for k in range(5):
        func = lambda x: x  # noqa: E731
        base = sys.getrefcount(func)
        ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int)(func)
        assert sys.getrefcount(func) == base


def test_callback_called_directly_from_python():
    for mod in (ferrotypes, __import__("ctypes")):
        for maker in (mod.CFUNCTYPE, mod.PYFUNCTYPE):
            proto = maker(mod.c_double, mod.c_double, mod.c_int)
            assert proto(lambda x, n: x * n)(1.5, 4) == 6.0
            obj = maker(mod.py_object, mod.py_object)(lambda o: [o])
            assert obj("x") == ["x"]


@pytest.mark.parametrize("m", [__import__("ctypes"), ferrotypes], ids=["ctypes", "ferrotypes"])
def test_py_object_results_reach_python_once_however_the_callback_is_called(m):
    """A py_object callback hands C a new reference; calling it directly, through a
    function pointer made from its address, or from a structure field takes that
    reference over, as ctypes does: no reference is leaked."""
    obj = object()
    proto = m.CFUNCTYPE(m.py_object)
    callback = proto(lambda: obj)
    from_address = proto(m.cast(callback, m.c_void_p).value)

    class Holder(m.Structure):
        _fields_ = [("f", proto)]

    holder = Holder(callback)
    before = sys.getrefcount(obj)
    for _ in range(50):
        assert callback() is obj and from_address() is obj and holder.f() is obj
    assert sys.getrefcount(obj) == before


def test_use_errno_in_callbacks_like_ctypes():
    seen = []
    for mod in (ferrotypes, __import__("ctypes")):
        proto = mod.CFUNCTYPE(mod.c_int, use_errno=True)

        def cb(mod=mod):
            before = mod.get_errno()  # C's errno when the callback was entered
            mod.set_errno(7)  # becomes C's errno when the callback returns
            return before

        mod.set_errno(3)
        # The call itself swaps too (same flags): the callback sees 3, sets 7 for
        # C, and the caller's private copy receives that 7 after the call.
        seen.append((proto(cb)(), mod.get_errno()))
        mod.set_errno(0)
    assert seen[0] == seen[1] == (3, 7)


# ---------------------------------------------------------------------------
# Real C users: qsort, a sort function, an allocator
# ---------------------------------------------------------------------------

def test_libc_qsort_with_python_comparator(libc):
    data = [5, -1, 99, 0, 42, 7, -20]
    for mod, lib in ((ferrotypes, libc.ft), (__import__("ctypes"), libc.std)):
        arr = (mod.c_int * len(data))(*data)
        cmp = mod.CFUNCTYPE(mod.c_int, mod.POINTER(mod.c_int), mod.POINTER(mod.c_int))
        qsort = lib["qsort"]
        qsort.argtypes = [mod.c_void_p, mod.c_size_t, mod.c_size_t, cmp]
        qsort.restype = None
        qsort(arr, len(arr), mod.sizeof(mod.c_int), cmp(lambda a, b: (a[0] > b[0]) - (a[0] < b[0])))
        assert list(arr) == sorted(data)


def test_sort_with_void_pointer_comparator(fttest):
    mod = ferrotypes
    arr = (mod.c_int * 6)(3, 1, 2, 6, 5, 4)
    cmp = mod.CFUNCTYPE(mod.c_int, mod.c_void_p, mod.c_void_p)
    calls = []

    def compare(a, b):
        calls.append(1)
        x, y = mod.c_int.from_address(a).value, mod.c_int.from_address(b).value
        return x - y

    f = fttest.ft["ftcb_sort_ints"]
    f.argtypes = [mod.POINTER(mod.c_int), mod.c_size_t, cmp]
    f.restype = None
    f(arr, 6, cmp(compare))
    assert list(arr) == [1, 2, 3, 4, 5, 6]
    assert calls


def test_pointer_arguments_look_new_to_every_call(fttest):
    """ferrotypes reuses an argument instance no one kept (callback.rs, FromC::Instance);
    each call must still see what a new instance would be, as with ctypes: no
    attribute, no weak reference or target left from an earlier call."""
    for mod, lib in both(fttest):
        data = [9, 4, 7, 1, 8, 2, 6, 3, 5, 0] * 3
        arr = (mod.c_int * len(data))(*data)
        proto = mod.CFUNCTYPE(mod.c_int, mod.POINTER(mod.c_int), mod.POINTER(mod.c_int))
        entries, weak = [], []

        def compare(a, b):
            n = len(entries)
            entries.append((dict(vars(a)), dict(vars(b)), a._objects, b._objects))
            x, y = a[0], b[0]
            if n % 3 == 0:
                a.note = "left behind"
            if n % 5 == 0:
                weak.append(weakref.ref(b))
            if n % 7 == 0:
                a.contents = mod.c_int(-1)  # repoints this argument only
            return x - y

        f = lib["ftcb_sort_ints"]
        f.argtypes = [mod.POINTER(mod.c_int), mod.c_size_t, proto]
        f.restype = None
        f(arr, len(data), proto(compare))
        assert list(arr) == sorted(data), mod
        assert entries and all(e == ({}, {}, None, None) for e in entries), (mod, entries[:3])
        assert all(w() is None for w in weak), mod


def test_function_pointer_arguments_do_not_carry_state_between_calls(fttest):
    """A function pointer keeps its own restype and argtypes beside its bytes: an
    argument of a function pointer type must not bring a previous call's along."""
    for mod, lib in both(fttest):
        target = mod.CFUNCTYPE(mod.c_int)
        seen = []

        def callback(fn):
            seen.append((fn.restype, fn.argtypes))
            fn.restype, fn.argtypes = mod.c_double, (mod.c_int,)
            return 0

        # ftcb_call_n passes 0..n-1 where the prototype says function pointer: only
        # the Python objects are looked at, never called.
        f = lib["ftcb_call_n"]
        f.argtypes = [mod.CFUNCTYPE(mod.c_int, target), mod.c_int]
        f(mod.CFUNCTYPE(mod.c_int, target)(callback), 4)
        assert seen[0][0] is mod.c_int and seen == [seen[0]] * 4, (mod, seen)


def test_one_callback_sorting_in_two_threads_at_once(fttest):
    """Two Python threads in the same foreign call (the GIL released) call one
    callback object, and the comparator gives up the GIL in between: each call
    keeps its own argument instances."""
    import time
    mod, lib = ferrotypes, fttest.ft
    proto = mod.CFUNCTYPE(mod.c_int, mod.POINTER(mod.c_int), mod.POINTER(mod.c_int))

    def compare(a, b):
        x = a[0]
        time.sleep(0)
        return x - b[0]

    callback = proto(compare)
    f = lib["ftcb_sort_ints"]
    f.argtypes = [mod.POINTER(mod.c_int), mod.c_size_t, proto]
    f.restype = None
    arrays = [(mod.c_int * 300)(*range(300, 0, -1)), (mod.c_int * 300)(*range(0, 600, 2))[::-1]]
    arrays[1] = (mod.c_int * 300)(*arrays[1])
    threads = [threading.Thread(target=f, args=(a, 300, callback)) for a in arrays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert list(arrays[0]) == list(range(1, 301))
    assert list(arrays[1]) == list(range(0, 600, 2))


def test_allocator_callback_returns_python_owned_memory(fttest):
    buffers = []

    def alloc(n):
        buf = ferrotypes.create_string_buffer(n)
        buffers.append(buf)
        return ferrotypes.addressof(buf)

    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_void_p, ferrotypes.c_size_t)
    f = fttest.ft["ftcb_use_allocator"]
    f.argtypes = [proto, ferrotypes.c_size_t]
    assert f(proto(alloc), 5) == 0
    assert buffers[0].raw == b"\x01\x02\x03\x04\x05"


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------

def test_c_threads_call_callbacks_and_every_call_counts(fttest):
    """8 pthreads, each calling the callback N times; every call is counted. The suite
    uses N = 2,000 (each call from a new C thread costs ~20 us); the benchmark's thread
    run does 8 x 100,000, and FERROTYPES_THREAD_CALLS=100000 does it here."""
    threads, calls = 8, int(os.environ.get("FERROTYPES_THREAD_CALLS", "2000"))
    counts = [0] * threads

    def cb(index):
        counts[index] += 1  # one C thread per index: no lost updates

    proto = ferrotypes.CFUNCTYPE(None, ferrotypes.c_int)
    f = fttest.ft["ftcb_threads"]
    f.argtypes = [proto, ferrotypes.c_int, ferrotypes.c_int]
    assert f(proto(cb), threads, calls) == 0
    assert counts == [calls] * threads


def test_callbacks_reach_python_however_the_gil_is_held(fttest_path):
    """The three ways a callback gets the GIL: its thread released it for the foreign
    call (CDLL), its thread still holds it (PyDLL), a C thread Python never saw; and
    a callback calling C that calls back again (GIL released and taken again, nested)."""
    counted = []
    cdll, pydll = ferrotypes.CDLL(fttest_path), ferrotypes.PyDLL(fttest_path)
    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int)
    for lib in (cdll, pydll):
        call_n = lib["ftcb_call_n"]
        call_n.argtypes = [proto, ferrotypes.c_int]
        call_n.restype = ferrotypes.c_long
        inner = proto(lambda x: x + 1)
        outer = proto(lambda x: call_n(inner, x))  # sum of 1..x, from inside a callback
        assert call_n(inner, 100) == 5050
        assert call_n(outer, 5) == sum(i * (i + 1) // 2 for i in range(5))
    threads = cdll["ftcb_threads"]
    threads.argtypes = [ferrotypes.CFUNCTYPE(None, ferrotypes.c_int), ferrotypes.c_int, ferrotypes.c_int]
    assert threads(ferrotypes.CFUNCTYPE(None, ferrotypes.c_int)(counted.append), 1, 50) == 0
    assert counted == [0] * 50


def _thread_states():
    """How many thread states the interpreter has (walked through its C API)."""
    api = ferrotypes.pythonapi
    interpreter = api["PyInterpreterState_Get"]
    interpreter.restype = ferrotypes.c_void_p
    head, following = api["PyInterpreterState_ThreadHead"], api["PyThreadState_Next"]
    head.argtypes = following.argtypes = [ferrotypes.c_void_p]
    head.restype = following.restype = ferrotypes.c_void_p
    count, state = 0, head(interpreter())
    while state:
        count, state = count + 1, following(state)
    return count


def _run_c_threads(lib, cb, threads, calls):
    proto = ferrotypes.CFUNCTYPE(None, ferrotypes.c_int)
    run = lib["ftcb_threads"]
    run.argtypes = [proto, ferrotypes.c_int, ferrotypes.c_int]
    callback = proto(cb)
    assert run(callback, threads, calls) == 0


def test_a_c_thread_keeps_its_thread_state_across_callbacks(fttest):
    """A thread Python never saw gets a thread state on its first callback and keeps
    it for the next ones (a thread-local set by one is seen by the next), where ctypes
    makes a new one per callback (the thread-local is gone each time)."""
    local = threading.local()
    seen = []

    def cb(index):
        seen.append(getattr(local, "mark", None))
        local.mark = index

    _run_c_threads(fttest.ft, cb, 1, 5)
    assert seen == [None, 0, 0, 0, 0]


def test_c_threads_thread_states_are_deleted_when_they_exit(fttest):
    before = _thread_states()
    counts = [0] * 4

    def cb(index):
        counts[index] += 1

    _run_c_threads(fttest.ft, cb, 4, 50)
    assert counts == [50] * 4
    assert _thread_states() == before


def test_a_c_thread_calling_back_while_the_interpreter_exits_does_not_crash(fttest_path):
    code = textwrap.dedent(f"""
        import time, ferrotypes as ct
        lib = ct.CDLL({fttest_path!r})
        proto = ct.CFUNCTYPE(None, ct.c_int)
        calls = []
        cb = proto(calls.append)
        start = lib.ftcb_start_detached
        start.argtypes = [proto, ct.c_int, ct.c_int]
        assert start(cb, 100000, 100) == 0
        while len(calls) < 20:
            time.sleep(0.01)
        print("exiting with", "a C thread calling back", flush=True)
    """)
    for _ in range(3):  # the thread is caught at different points of the shutdown
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "exiting with a C thread calling back" in out.stdout


def test_c_threads_call_back_in_a_forked_child(fttest_path):
    code = textwrap.dedent(f"""
        import os, ferrotypes as ct
        lib = ct.CDLL({fttest_path!r})
        proto = ct.CFUNCTYPE(None, ct.c_int)
        counts = [0, 0]
        def cb(index):
            counts[index] += 1
        callback = proto(cb)
        run = lib.ftcb_threads
        run.argtypes = [proto, ct.c_int, ct.c_int]
        assert run(callback, 2, 100) == 0
        pid = os.fork()
        if pid == 0:
            counts[:] = [0, 0]
            ok = run(callback, 2, 100) == 0 and counts == [100, 100]
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert run(callback, 2, 100) == 0 and counts == [200, 200]
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr


def test_python_threads_call_c_while_c_threads_call_back(fttest_path):
    """No deadlock: Python threads in foreign calls (releasing the GIL) while C
    threads call Python callbacks.  In a subprocess with a timeout, so a deadlock
    fails the test instead of hanging the suite."""
    code = textwrap.dedent(f"""
        import threading, ferrotypes as ct
        lib = ct.CDLL({fttest_path!r})
        proto = ct.CFUNCTYPE(None, ct.c_int)
        total = [0]
        lock = threading.Lock()
        def cb(i):
            with lock:
                total[0] += 1
        cb_c = proto(cb)
        run = lib.ftcb_threads
        run.argtypes = [proto, ct.c_int, ct.c_int]
        spin = lib.ftcb_spin
        spin.argtypes = [ct.c_long]
        spin.restype = ct.c_long
        adder = lib.ftcb_call_n
        adder.argtypes = [ct.CFUNCTYPE(ct.c_int, ct.c_int), ct.c_int]
        adder.restype = ct.c_long
        inc = ct.CFUNCTYPE(ct.c_int, ct.c_int)(lambda x: x + 1)
        errors = []
        def python_worker():
            try:
                for _ in range(200):
                    spin(2000)
                    assert adder(inc, 10) == 55
            except BaseException as e:
                errors.append(e)
        workers = [threading.Thread(target=python_worker) for _ in range(4)]
        for w in workers: w.start()
        c_runs = [threading.Thread(target=run, args=(cb_c, 4, 500)) for _ in range(2)]
        for t in c_runs: t.start()
        for t in workers + c_runs: t.join()
        assert not errors, errors
        assert total[0] == 2 * 4 * 500, total
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ---------------------------------------------------------------------------
# What keeps a callback alive, and cycles through callbacks
# ---------------------------------------------------------------------------

def test_callback_kept_only_by_a_structure_field_stays_callable(fttest):
    """The structure keeps the callback (its thunk) in `_objects`, as ctypes does:
    C calls it through the field after the Python callback object is gone."""
    for mod, lib in both(fttest):
        proto = mod.CFUNCTYPE(mod.c_int, mod.c_int)

        class Holder(mod.Structure):
            _fields_ = [("tag", mod.c_int), ("cb", proto)]

        call_held = lib["ftcb_call_held"]
        call_held.argtypes = [mod.POINTER(Holder), mod.c_int]
        h = Holder(tag=1000)
        h.cb = proto(lambda x: x * 2)
        gc.collect()
        assert call_held(mod.byref(h), 21) == 1042
        assert h.cb(5) == 10  # the field read back calls the same trampoline
        field = h.cb
        del h
        gc.collect()
        assert field(6) == 12  # a view of the field keeps the structure, so the callback


def test_callback_kept_only_by_an_array_element_stays_callable(fttest):
    for mod, lib in both(fttest):
        proto = mod.CFUNCTYPE(mod.c_int, mod.c_int)
        call_each = lib["ftcb_call_each"]
        call_each.argtypes = [mod.POINTER(proto), mod.c_int, mod.c_int]
        callbacks = (proto * 3)()
        for i in range(3):
            callbacks[i] = proto(lambda x, i=i: x + 10 ** i)
        gc.collect()
        assert call_each(callbacks, 3, 1) == 3 + 111
        # built by the constructor too
        made = (proto * 2)(proto(lambda x: x), proto(lambda x: -x))
        gc.collect()
        assert call_each(made, 2, 7) == 0


def test_releasing_the_structure_releases_the_callback(fttest):
    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int)

    class Holder(ferrotypes.Structure):
        _fields_ = [("tag", ferrotypes.c_int), ("cb", proto)]

    def func(x):
        return x

    base = sys.getrefcount(func)
    h = Holder()
    h.cb = proto(func)
    assert sys.getrefcount(func) > base
    del h  # no collection needed: nothing here is a cycle
    assert sys.getrefcount(func) == base


def test_cycle_through_a_callback_is_collected():
    """CPython's test_issue_7959, and a weak reference to watch the cycle go."""
    proto = ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int)

    class Owner:
        def method(self, x):
            return x

        def __init__(self):
            self.callback = proto(self.method)  # Owner -> callback -> bound method -> Owner

    owner = Owner()
    alive = weakref.ref(owner)
    gc.collect()  # callbacks left in cycles by earlier tests go first, not counted below
    before = ferrotypes._ctypes._released_callbacks()
    del owner
    gc.collect()
    assert alive() is None
    assert ferrotypes._ctypes._released_callbacks() == before + 1


def test_cycle_through_a_structure_field_is_collected():
    proto = ferrotypes.CFUNCTYPE(None)

    class Holder(ferrotypes.Structure):
        _fields_ = [("cb", proto)]

    class Owner:
        def method(self):
            pass

    owner = Owner()
    owner.holder = Holder()
    owner.holder.cb = proto(owner.method)  # Owner -> Holder._objects -> thunk -> Owner
    alive = weakref.ref(owner)
    del owner
    gc.collect()
    assert alive() is None


def test_cycle_through_errcheck_and_restype_is_collected(fttest):
    class Owner:
        def check(self, result, func, args):
            return result

        def convert(self, value):
            return value

    owner = Owner()
    owner.f = fttest.ft["ftcb_get_null"]
    owner.f.errcheck = owner.check
    owner.f.restype = owner.convert
    alive = weakref.ref(owner)
    del owner
    gc.collect()
    assert alive() is None


def test_a_collected_cycle_leaves_c_with_a_reported_late_call(fttest_path):
    code = textwrap.dedent(f"""
        import gc, sys, ferrotypes as ct
        lib = ct.CDLL({fttest_path!r})
        proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
        lib.ftcb_store.argtypes = [proto]
        class Owner:
            def method(self, x):
                return x + 1
            def __init__(self):
                self.cb = proto(self.method)
                lib.ftcb_store(self.cb)
        Owner()
        assert lib.ftcb_call_stored(1) == 2  # the cycle is still there
        reports = []
        sys.unraisablehook = reports.append
        gc.collect()
        print(lib.ftcb_call_stored(41), len(reports))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "1"]


# ---------------------------------------------------------------------------
# Safety: late calls and W^X
# ---------------------------------------------------------------------------

def test_late_call_after_collection_is_reported_not_a_crash(fttest_path):
    code = textwrap.dedent(f"""
        import gc, sys, ferrotypes as ct
        lib = ct.CDLL({fttest_path!r})
        proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
        lib.ftcb_store.argtypes = [proto]
        def my_callback(x):
            return x + 1
        cb = proto(my_callback)
        lib.ftcb_store(cb)
        assert lib.ftcb_call_stored(1) == 2
        reports = []
        sys.unraisablehook = reports.append
        before = ct._ctypes._released_callbacks()
        del cb, my_callback
        gc.collect()
        assert ct._ctypes._released_callbacks() == before + 1
        print(lib.ftcb_call_stored(41))
        print(lib.ftcb_call_stored(41))
        for r in reports:
            print(r.err_msg)
            print(type(r.exc_value).__name__, r.exc_value)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:2] == ["0", "0"]
    assert len(lines) == 6
    assert "released ctypes callback function '__main__.my_callback'" in lines[2]
    assert lines[3].startswith("RuntimeError")
    assert "called from C after its callback object was released" in lines[3]


def test_late_calls_name_each_kind_of_callable(fttest_path):
    """The name a late call reports is taken when the callback is made: a function's
    qualified name (read from the function itself), a bound method's, the repr of
    anything without a str __qualname__."""
    code = textwrap.dedent(f"""
        import functools, gc, sys, ferrotypes as ct
        lib = ct.CDLL({fttest_path!r})
        proto = ct.CFUNCTYPE(ct.c_int, ct.c_int)
        lib.ftcb_store.argtypes = [proto]
        def plain(x):
            return x
        def renamed(x):
            return x
        renamed.__qualname__ = "Elsewhere.renamed"
        def no_module(x):
            return x
        no_module.__module__ = None
        def odd_module(x):
            return x
        odd_module.__module__ = 5
        def in_dict(x):
            return x
        in_dict.__dict__["__qualname__"] = "not.this"
        class Holder:
            def method(self, x):
                return x
            def __call__(self, x):
                return x
            def __repr__(self):
                return "<a Holder>"
        def outer():
            def inner(x):
                return x
            return inner
        callables = [plain, renamed, no_module, odd_module, in_dict, outer(), lambda x: x,
                     Holder().method, Holder(), functools.partial(plain)]
        reports = []
        sys.unraisablehook = lambda r: reports.append(r.err_msg)
        for f in callables:
            cb = proto(f)
            lib.ftcb_store(cb)
            assert lib.ftcb_call_stored(3) == 3
            del cb, f
            gc.collect()
            lib.ftcb_call_stored(3)
        for r in reports:
            print(r.split("released ctypes callback function ", 1)[1])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:9] == [
        "'__main__.plain'", "'__main__.Elsewhere.renamed'", "'no_module'", "'odd_module'",
        "'__main__.in_dict'", "'__main__.outer.<locals>.inner'", "'__main__.<lambda>'",
        "'__main__.Holder.method'", "<a Holder>"]
    assert len(lines) == 10 and lines[9].startswith("functools.partial(<function plain at ")


def test_callbacks_made_and_dropped_past_the_quarantine_call_their_own_function(fttest_path):
    """More callbacks than the quarantine holds, made and dropped in turn (in a
    process of their own, whose quarantine they fill): past 16,384 their trampolines
    are reused (prepared again for another signature in between), and each calls its
    own function."""
    code = textwrap.dedent(f"""
        import ferrotypes as ft
        lib = ft.CDLL({fttest_path!r})
        proto = ft.CFUNCTYPE(ft.c_int, ft.c_int)
        other = ft.CFUNCTYPE(ft.c_double, ft.c_double)
        call = lib.ftcb_call_n
        call.argtypes = [proto, ft.c_int]
        call.restype = ft.c_long
        for k in range(20_000):
            cb = proto(lambda x, k=k: x + k)
            assert call(cb, 3) == 3 * k + 3, k
            if k % 1000 == 0:
                assert other(lambda x: x / 2)(5.0) == 2.5
        print(ft._ctypes._released_callbacks())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["16384"]


def test_a_callback_leaving_the_quarantine_releases_its_references_at_once():
    """In a fresh process: the name a released callback keeps for its late-call
    reports is let go of as soon as the quarantine lets go of the callback (not
    later, at some other call into the extension), also when the release that
    evicts it is the deallocation of a thunk the program held on to."""
    code = textwrap.dedent("""
        import sys, ferrotypes as ft
        proto = ft.CFUNCTYPE(ft.c_int, ft.c_int)
        def named(x):
            return x
        named.__qualname__ = "".join(["a_name", "_of_its_own"])
        name = named.__qualname__
        base = sys.getrefcount(name)
        proto(named)
        del named
        print(sys.getrefcount(name) - base)
        released = ft._ctypes._released_callbacks()
        f = lambda x: x
        for _ in range(16_384 - released):
            proto(f)
        print(sys.getrefcount(name) - base)
        cb = proto(f)
        thunk = cb._objects["0"]
        del cb
        del thunk  # the quarantine lets go of the first callback
        print(sys.getrefcount(name) - base)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "0", "-1"]


def test_libffi_callbacks_made_and_dropped_past_the_quarantine_call_their_own_function(fttest_path):
    """As above for signatures no static trampoline takes (seven integer arguments,
    nine doubles): past 16,384 their libffi closures are taken from the spares,
    prepared again for the other signature in between, and each calls its own
    function."""
    code = textwrap.dedent(f"""
        import ferrotypes as ft
        lib = ft.CDLL({fttest_path!r})
        proto = ft.CFUNCTYPE(ft.c_long, *[ft.c_int] * 6, ft.c_long)
        other = ft.CFUNCTYPE(ft.c_double, *[ft.c_double] * 9)
        call = lib.ftcb_seven_ints
        call.argtypes = [proto]
        call.restype = ft.c_long
        for k in range(20_000):
            cb = proto(lambda *a, k=k: sum(a) + k)
            assert call(cb) == 7_000_000_000 - 3 + k, k
            if k % 1000 == 0:
                assert other(lambda *a: a[0] / 2)(5.0, *[0.0] * 8) == 2.5
        print(ft._ctypes._released_callbacks())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["16384"]


@pytest.mark.skipif(not (sys.platform.startswith("linux") and os.uname().machine == "x86_64"),
                    reason="static trampolines exist on x86_64 System V only")
def test_callbacks_made_and_dropped_while_the_quarantine_fills_keep_static_trampolines(fttest_path):
    """Making and dropping register-only callbacks in a loop (in a fresh process)
    takes a new static trampoline each time while the quarantine fills, never a
    libffi closure: every address is in the extension's own code and none repeats
    among the 16,384 released ones kept callable. The oldest of those, called from C,
    is still reported as a late call naming its function; once the quarantine lets go
    of it, the next callback takes its trampoline."""
    code = EXTENSION_CODE_RANGES + textwrap.dedent(f"""
        import os, sys, ferrotypes as ft
        lib = ft.CDLL({fttest_path!r})
        proto = ft.CFUNCTYPE(ft.c_int, ft.c_int)
        def address_of(cb):  # its address, read without keeping it (a cast would, in a cycle)
            return ft.c_void_p.from_address(ft.addressof(cb)).value
        def first(x):
            return x + 1
        cb = proto(first)
        lib.ftcb_store(cb)
        lib.ftcb_stored_address.restype = ft.c_void_p
        oldest = lib.ftcb_stored_address()
        del cb
        released = ft._ctypes._released_callbacks()
        addresses = {{oldest}}
        for k in range(1, 16_384 - released):
            addresses.add(address_of(proto(lambda x, k=k: x + k)))
        print(len(addresses) == 16_384 - released)
        print(all(any(lo <= a < hi for lo, hi in ranges) for a in addresses))
        reports = []
        sys.unraisablehook = reports.append
        print(lib.ftcb_call_stored(41))
        print([r.err_msg for r in reports])
        # The first release fills the quarantine, the second makes it let go of the
        # oldest callback, whose trampoline the next callback takes.
        for _ in range(2):
            address_of(proto(lambda x: x))
        again = proto(lambda x: x * 3)
        print(address_of(again) == oldest)
        lib.ftcb_store(again)
        print(lib.ftcb_call_stored(5))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "True", "True", "0",
        "[\"Exception ignored on calling released ctypes callback function '__main__.first'\"]",
        "True", "15"]


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc/self/maps (Linux)")
def test_no_mapping_is_writable_and_executable_after_making_callbacks(fttest_path):
    """In a fresh process: the stdlib's ctypes (which this suite also runs) maps
    its closures writable and executable, which would hide ours."""
    code = textwrap.dedent(f"""
        import ferrotypes as ct
        def wx():
            with open("/proc/self/maps") as maps:
                return [l for l in maps if "w" in l.split()[1] and "x" in l.split()[1]]
        assert wx() == [], wx()
        lib = ct.CDLL({fttest_path!r})
        protos = [ct.CFUNCTYPE(ct.c_int, ct.c_int),
                  ct.CFUNCTYPE(ct.c_double, ct.c_double, ct.c_char_p)]
        callbacks = [p(lambda *a: 0) for p in protos for _ in range(500)]
        lib.ftcb_call_n.argtypes = [protos[0], ct.c_int]
        assert lib.ftcb_call_n(callbacks[0], 3) == 0
        del callbacks[:100]  # released ones stay mapped, still not writable
        print(wx())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_clib_has_the_callback_functions(fttest_path):
    # the test library is built from both sources
    assert any(p.name == "callbacks.c" for p in _load_clib_builder().SOURCES)
