"""The module functions (`byref`, `pointer`, `POINTER`, `sizeof`, `alignment`,
`addressof`, `cast`), the `from_param` family and `argtypes` against the running
version's stdlib ctypes (3.11, 3.12 or 3.13): the same operation through both, with
results, exception types and messages compared.

Messages are compared whole, after renames: what ctypes' `_ctypes` module names
(`_ctypes.pointer()`), ferrotypes' `ferrotypes._ctypes` names; ctypes' metaclasses and
base classes (`_ctypes.PyCSimpleType`) are ferrotypes' Python classes
(`PyCSimpleType`); and `byref()`'s class is `CArgObject` in 3.11's ctypes,
`_ctypes.CArgObject` from 3.12, `ferrotypes._ctypes.CArgObject` in ferrotypes."""

import ctypes
import re

import pytest

import ferrotypes

# The classes ferrotypes defines in Python where ctypes' are in `_ctypes`.
PYTHON_CLASSES = ("PyCSimpleType", "PyCStructType", "UnionType", "PyCArrayType", "PyCPointerType",
                  "PyCFuncPtrType", "Structure", "Union", "Array", "_Pointer", "_SimpleCData", "CFuncPtr")


def normalised(outcome):
    """`outcome` (as `run` gives it) with the module names made comparable."""
    if outcome[0] != "error":
        return outcome
    kind, exc_type, message = outcome
    message = message.replace("ferrotypes._ctypes.", "_ctypes.")
    message = re.sub(r"_ctypes\.(%s)\b" % "|".join(PYTHON_CLASSES + ("CArgObject",)), r"\1", message)
    return kind, exc_type.__name__, message


def run(action):
    """("ok", what `action` returns, described) or ("error", type, message)."""
    try:
        result = action()
    except Exception as exc:  # noqa: BLE001 (any exception is an outcome)
        return normalised(("error", type(exc), str(exc)))
    return ("ok", describe(result))


def describe(result):
    """A result in terms both libraries share: a `CArgObject` by its type code, an
    instance or class by its class name, plain values as they are."""
    if type(result).__name__ == "CArgObject":
        return ("CArgObject", repr(result).split(" ")[1])
    if result is None or isinstance(result, (int, float, bytes, str, tuple)):
        return result
    if isinstance(result, type):
        return ("class", result.__name__)
    return ("instance", type(result).__name__)


def both(case):
    """`case(module)` run with ctypes and with ferrotypes: (ctypes', ferrotypes')."""
    return case(ctypes), case(ferrotypes)


def assert_same(case):
    expected, got = both(case)
    assert got == expected


# --- byref -----------------------------------------------------------------------------

BYREF_CALLS = [
    ("byref()", lambda m, a: m.byref()),
    ("byref(a, 1, 2)", lambda m, a: m.byref(a, 1, 2)),
    ("byref(a, 1, 2, 3)", lambda m, a: m.byref(a, 1, 2, 3)),
    ("byref(a, 'x')", lambda m, a: m.byref(a, "x")),
    ("byref(a, 1.5)", lambda m, a: m.byref(a, 1.5)),
    ("byref(a, None)", lambda m, a: m.byref(a, None)),
    ("byref(obj=a)", lambda m, a: m.byref(obj=a)),
    ("byref(a, offset=1)", lambda m, a: m.byref(a, offset=1)),
    ("byref(a, foo=1)", lambda m, a: m.byref(a, foo=1)),
    ("byref(foo=1)", lambda m, a: m.byref(foo=1)),
    ("byref(a, 1, 2, x=1)", lambda m, a: m.byref(a, 1, 2, x=1)),
    ("byref(a, **{})", lambda m, a: m.byref(a, **{})),
    ("byref(a, 4, **{})", lambda m, a: m.byref(a, 4, **{})),
    ("byref(*[a])", lambda m, a: m.byref(*[a])),
    ("byref(5)", lambda m, a: m.byref(5)),
    ("byref(None)", lambda m, a: m.byref(None)),
    ("byref(c_int)", lambda m, a: m.byref(m.c_int)),
    ("byref(byref(a))", lambda m, a: m.byref(m.byref(a))),
    ("byref(object())", lambda m, a: m.byref(object())),
    # The offset is read first.
    ("byref(object(), 'x')", lambda m, a: m.byref(object(), "x")),
    ("byref(5, 1.5)", lambda m, a: m.byref(5, 1.5)),
    ("byref(c_int, c_int(1))", lambda m, a: m.byref(m.c_int, m.c_int(1))),
]


@pytest.mark.parametrize("call", [c for _, c in BYREF_CALLS], ids=[n for n, _ in BYREF_CALLS])
def test_byref_takes_and_refuses_what_ctypes_does_in_its_words(call):
    assert_same(lambda m: run(lambda: call(m, m.c_int(5))))


def test_byref_gives_the_address_plus_the_offset_as_ctypes():
    def case(m):
        a = (m.c_int * 4)()
        return [m.cast(m.byref(a, offset), m.c_void_p).value - m.addressof(a) for offset in (0, 4, -8, True)]

    assert_same(case)


# --- sizeof, alignment, addressof, pointer, POINTER ----------------------------------------

ONE_ARGUMENT_CALLS = [
    ("sizeof(int)", lambda m: m.sizeof(int)),
    ("sizeof(byref)", lambda m: m.sizeof(m.byref(m.c_int()))),
    ("alignment(byref)", lambda m: m.alignment(m.byref(m.c_int()))),
    ("alignment('c_int')", lambda m: m.alignment("c_int")),
    ("addressof(1)", lambda m: m.addressof(1)),
    ("addressof(None)", lambda m: m.addressof(None)),
    ("addressof(c_int)", lambda m: m.addressof(m.c_int)),
    ("addressof(byref)", lambda m: m.addressof(m.byref(m.c_int()))),
    ("pointer(1)", lambda m: m.pointer(1)),
    ("pointer(c_int)", lambda m: m.pointer(m.c_int)),
    ("pointer(byref)", lambda m: m.pointer(m.byref(m.c_int()))),
    ("POINTER(1)", lambda m: m.POINTER(1)),
    ("POINTER(c_int(1))", lambda m: m.POINTER(m.c_int(1))),
    ("POINTER(array)", lambda m: m.POINTER((m.c_int * 2)())),
    ("hash(c_int(1))", lambda m: hash(m.c_int(1))),
    ("hash(pointer)", lambda m: hash(m.pointer(m.c_int()))),
    # The argument counts: CPython's own words, naming the function by its module.
    ("sizeof()", lambda m: m.sizeof()),
    ("alignment(1, 2)", lambda m: m.alignment(1, 2)),
    ("addressof(obj=1)", lambda m: m.addressof(obj=1)),
    ("pointer()", lambda m: m.pointer()),
    ("POINTER(obj=1)", lambda m: m.POINTER(obj=1)),
]


@pytest.mark.parametrize("call", [c for _, c in ONE_ARGUMENT_CALLS], ids=[n for n, _ in ONE_ARGUMENT_CALLS])
def test_module_functions_refuse_as_ctypes_in_its_words(call):
    assert_same(lambda m: run(lambda: call(m)))


def incomplete_records(m):
    """Records without `_fields_` yet, of every kind, and what is made of them."""
    class Struct(m.Structure):
        pass

    class Un(m.Union):
        pass

    class Packed(m.Structure):
        _pack_ = 1

    class Aligned(m.Structure):
        _align_ = 16  # read from 3.13, when the fields are set

    class Big(m.BigEndianStructure):
        pass

    class LittleUnion(m.LittleEndianUnion):
        pass

    class Sub(Struct):
        pass

    return [Struct, Un, Packed, Aligned, Big, LittleUnion, Sub, Struct * 3, (Un * 2) * 2, m.POINTER(Struct)]


def test_records_without_fields_measure_as_in_ctypes():
    def case(m):
        return [(m.sizeof(cls), m.alignment(cls), m.sizeof(cls()), m.alignment(cls())) for cls in incomplete_records(m)]

    assert_same(case)


def test_records_measure_as_in_ctypes_once_their_fields_come():
    def case(m):
        class Late(m.Structure):
            pass

        class LateUnion(m.Union):
            pass

        early_array = Late * 2
        row = [m.alignment(Late), m.alignment(LateUnion), m.alignment(early_array)]
        Late._fields_ = [("c", m.c_char), ("d", m.c_double)]
        LateUnion._fields_ = [("s", m.c_short)]

        # A field whose type is not laid out takes no room and aligns to 1.
        class Holder(m.Structure):
            _fields_ = [("a", early_array), ("b", m.c_char)]

        row += [m.alignment(Late), m.sizeof(Late), m.alignment(LateUnion), m.alignment(early_array),
                m.sizeof(early_array), m.alignment(Late * 2), m.sizeof(Holder), m.alignment(Holder)]
        return row

    assert_same(case)


def test_the_fast_paths_measure_records_without_fields_as_ctypes():
    # sizeof/alignment remember recently measured classes: a class measured while
    # incomplete, then completed, answers from its new layout.
    def case(m):
        class Late(m.Structure):
            pass

        before = [(m.alignment(Late), m.sizeof(Late)) for _ in range(3)]
        Late._fields_ = [("x", m.c_int)]
        return before, [(m.alignment(Late), m.sizeof(Late), m.alignment(Late())) for _ in range(3)]

    assert_same(case)


# --- cast ----------------------------------------------------------------------------------

CAST_TARGETS = [
    ("int", lambda m: int),
    ("5", lambda m: 5),
    ("None", lambda m: None),
    ("type", lambda m: type),
    ("'x'", lambda m: "x"),
    ("object()", lambda m: object()),
    ("c_int", lambda m: m.c_int),
    ("c_int(1)", lambda m: m.c_int(1)),
    ("record", lambda m: type("R", (m.Structure,), {"_fields_": [("x", m.c_int)]})),
    ("record instance", lambda m: type("R", (m.Structure,), {"_fields_": [("x", m.c_int)]})()),
    ("array type", lambda m: m.c_int * 2),
    ("array", lambda m: (m.c_int * 2)()),
    ("pointer instance", lambda m: m.pointer(m.c_int())),
    ("byref", lambda m: m.byref(m.c_int())),
    ("class of another metaclass", lambda m: type("Meta", (type,), {})("Other", (), {})),
    # ctypes passes the target as a py_object parameter, which takes a py_object
    # instance as the object it holds.
    ("py_object holding c_void_p", lambda m: m.py_object(m.c_void_p)),
    ("py_object holding 5", lambda m: m.py_object(5)),
    ("py_object holding a py_object", lambda m: m.py_object(m.py_object(m.c_void_p))),
]


@pytest.mark.parametrize("target", [t for _, t in CAST_TARGETS], ids=[n for n, _ in CAST_TARGETS])
def test_cast_refuses_a_target_type_as_ctypes_in_its_words(target):
    assert_same(lambda m: run(lambda: m.cast(None, target(m))))


CAST_SOURCES = [
    ("1.5", lambda m: 1.5),
    ("c_int", lambda m: m.c_int(1)),
    ("c_double", lambda m: m.c_double(1)),
    ("c_char", lambda m: m.c_char(b"a")),
    ("record", lambda m: type("R", (m.Structure,), {"_fields_": [("x", m.c_int)]})()),
    ("list", lambda m: []),
    ("an _as_parameter_ of the wrong type", lambda m: type("P", (), {"_as_parameter_": 1.5})()),
    ("c_char_p.from_param", lambda m: m.c_char_p.from_param(b"x")),
    ("c_int.from_param", lambda m: m.c_int.from_param(3)),
    ("int", lambda m: 12345),
    ("None", lambda m: None),
    ("byref", lambda m: m.byref(m.c_int())),
]


@pytest.mark.parametrize("source", [s for _, s in CAST_SOURCES], ids=[n for n, _ in CAST_SOURCES])
def test_cast_takes_and_refuses_a_source_as_ctypes_in_its_words(source):
    def case(m):
        outcome = run(lambda: m.cast(source(m), m.c_void_p))
        return outcome[:2] if outcome[0] == "ok" else outcome

    assert_same(case)


class Holder:
    """An object passed as its `_as_parameter_`."""

    def __init__(self, value):
        self._as_parameter_ = value


ADDRESS_CALLS = [
    ("cast(holder of a buffer, c_char_p)", lambda m, b: m.cast(Holder(b), m.c_char_p).value),
    ("cast(holder of 1.5, c_void_p)", lambda m, b: m.cast(Holder(1.5), m.c_void_p)),
    ("cast(holder of a holder of a buffer, c_char_p)", lambda m, b: m.cast(Holder(Holder(b)), m.c_char_p).value),
    ("string_at(1.5)", lambda m, b: m.string_at(1.5)),
    ("string_at(c_int(1))", lambda m, b: m.string_at(m.c_int(1))),
    ("string_at(holder of its address)", lambda m, b: m.string_at(Holder(m.addressof(b)))),
    ("string_at(holder of 1.5)", lambda m, b: m.string_at(Holder(1.5))),
    ("wstring_at(1.5)", lambda m, b: m.wstring_at(1.5)),
    ("wstring_at([])", lambda m, b: m.wstring_at([])),
    ("memmove(1.5, b, 1)", lambda m, b: m.memmove(1.5, b, 1)),
    ("memmove(b, 1.5, 1)", lambda m, b: m.memmove(b, 1.5, 1)),
    ("memset(1.5, 0, 1)", lambda m, b: m.memset(1.5, 0, 1)),
]


@pytest.mark.parametrize("call", [c for _, c in ADDRESS_CALLS], ids=[n for n, _ in ADDRESS_CALLS])
def test_addresses_are_taken_and_refused_as_ctypes_in_its_words(call):
    def case(m):
        outcome = run(lambda: call(m, m.create_string_buffer(b"hi")))
        return outcome[:2] if outcome[0] == "ok" and not isinstance(outcome[1], bytes) else outcome

    assert_same(case)


# --- from_param ----------------------------------------------------------------------------

def from_param_types(m):
    class Point(m.Structure):
        _fields_ = [("x", m.c_int)]

    class MyInt(m.c_int):
        pass

    return {
        "c_int": m.c_int, "c_uint": m.c_uint, "c_byte": m.c_byte, "c_ubyte": m.c_ubyte, "c_short": m.c_short,
        "c_long": m.c_long, "c_ulonglong": m.c_ulonglong, "c_size_t": m.c_size_t, "c_bool": m.c_bool,
        "c_float": m.c_float, "c_double": m.c_double, "c_longdouble": m.c_longdouble, "c_char": m.c_char,
        "c_wchar": m.c_wchar, "c_char_p": m.c_char_p, "c_wchar_p": m.c_wchar_p, "c_void_p": m.c_void_p,
        "py_object": m.py_object, "MyInt": MyInt, "POINTER(c_int)": m.POINTER(m.c_int),
        "POINTER(c_char)": m.POINTER(m.c_char), "POINTER(c_wchar)": m.POINTER(m.c_wchar),
        "POINTER(Point)": m.POINTER(Point), "c_int * 3": m.c_int * 3, "c_char * 3": m.c_char * 3,
        "Point": Point, "CFUNCTYPE": m.CFUNCTYPE(m.c_int),
    }


def from_param_values(m):
    class Point(m.Structure):
        _fields_ = [("x", m.c_int)]

    return {
        "str": lambda: "x", "bytes": lambda: b"x", "int": lambda: 1, "-1": lambda: -1, "2**70": lambda: 2**70,
        "float": lambda: 1.5, "None": lambda: None, "True": lambda: True, "complex": lambda: 1j,
        "list": lambda: [], "object": lambda: object(), "bytearray": lambda: bytearray(3),
        "c_int": lambda: m.c_int(1), "c_long": lambda: m.c_long(1), "c_double": lambda: m.c_double(1),
        "c_char": lambda: m.c_char(b"a"), "c_wchar": lambda: m.c_wchar("a"),
        "c_char_p": lambda: m.c_char_p(b"a"), "c_wchar_p": lambda: m.c_wchar_p("a"), "c_void_p": lambda: m.c_void_p(1),
        "record": lambda: Point(), "pointer": lambda: m.pointer(m.c_int()), "pointer to char": lambda: m.pointer(m.c_char()),
        "int array": lambda: (m.c_int * 2)(), "char array": lambda: (m.c_char * 3)(),
        "wchar array": lambda: (m.c_wchar * 3)(), "string buffer": lambda: m.create_string_buffer(2),
        "byref(c_int)": lambda: m.byref(m.c_int()), "byref(c_char)": lambda: m.byref(m.c_char()),
        "byref(c_wchar)": lambda: m.byref(m.c_wchar()), "byref(record)": lambda: m.byref(Point()),
        "c_int.from_param(3)": lambda: m.c_int.from_param(3),
        "c_char_p.from_param(b'x')": lambda: m.c_char_p.from_param(b"x"),
        "c_wchar_p.from_param('x')": lambda: m.c_wchar_p.from_param("x"),
        "callback": lambda: m.CFUNCTYPE(m.c_int)(lambda: 0),
        "_as_parameter_ int": lambda: Holder(5), "_as_parameter_ str": lambda: Holder("s"),
        "_as_parameter_ pointer": lambda: Holder(m.pointer(m.c_int())), "_as_parameter_ float": lambda: Holder(1.5),
    }


def crashes_ctypes(type_name, value_name):
    """ctypes' record and function `from_param` read a `CArgObject`'s (a `byref()`'s, a
    simple type's `from_param` result's) target type as if it were an array's or
    pointer's, and crash: not compared."""
    return type_name in ("Point", "CFUNCTYPE") and (value_name.startswith("byref(") or ".from_param(" in value_name)


_FROM_PARAM_TYPES = {m: from_param_types(m) for m in (ctypes, ferrotypes)}
FROM_PARAM_CASES = [(t, v) for t in _FROM_PARAM_TYPES[ferrotypes] for v in from_param_values(ferrotypes)
                    if not crashes_ctypes(t, v)]


@pytest.mark.parametrize("type_name, value_name", FROM_PARAM_CASES, ids=[f"{t}-{v}" for t, v in FROM_PARAM_CASES])
def test_from_param_gives_and_refuses_as_ctypes_in_its_words(type_name, value_name):
    def case(m):
        cls = _FROM_PARAM_TYPES[m][type_name]
        make = from_param_values(m)[value_name]
        value = make()
        outcome = run(lambda: cls.from_param(value))
        if outcome[0] == "ok":
            returned = cls.from_param(value)
            outcome += ("itself" if returned is value else "another object",)
        return outcome

    assert_same(case)


# --- argtypes --------------------------------------------------------------------------------

def argtypes_of_a_prototype(given):
    """What `proto._argtypes_`, an instance's `argtypes` and a call give when the class
    body sets `_argtypes_` to `given(m)` (strlen called with b"abcd" and 7)."""
    def case(m):
        libc = m.CDLL(None)

        def make():
            class Proto(m.CFUNCTYPE(m.c_size_t)):
                _flags_ = m.CFUNCTYPE(m.c_int)._flags_
                _argtypes_ = given(m)
                _restype_ = m.c_size_t
            return Proto

        made = run(make)
        if made[0] != "ok":
            return made
        proto = make()
        function = proto(("strlen", libc))
        kept = proto._argtypes_
        return (iter(kept) is kept, function.argtypes is kept, run(lambda: function(b"abcd", 7)),
                run(lambda: function(b"abcd", 7)), type(kept).__name__)
    return case


ARGTYPES = [
    ("generator", lambda m: (t for t in (m.c_char_p, m.c_int))),
    ("list iterator", lambda m: iter([m.c_char_p, m.c_int])),
    ("empty generator", lambda m: (t for t in ())),
    ("list", lambda m: [m.c_char_p, m.c_int]),
    ("tuple", lambda m: (m.c_char_p, m.c_int)),
    ("dict", lambda m: {m.c_char_p: 1, m.c_int: 2}),
    ("str", lambda m: "ab"),
    ("int", lambda m: 5),
    ("None", lambda m: None),
    ("a type without from_param", lambda m: [int]),
    ("a generator that fails", lambda m: (1 / 0 for _ in range(1))),
    ("too many", lambda m: (m.c_int for _ in range(1025))),
]


@pytest.mark.parametrize("given", [g for _, g in ARGTYPES], ids=[n for n, _ in ARGTYPES])
def test_a_prototypes_argtypes_read_back_and_convert_as_in_ctypes(given):
    assert_same(argtypes_of_a_prototype(given))


@pytest.mark.parametrize("given", [g for _, g in ARGTYPES], ids=[n for n, _ in ARGTYPES])
def test_a_functions_argtypes_read_back_and_convert_as_in_ctypes(given):
    def case(m):
        function = m.CDLL(None)["strlen"]
        function.restype = m.c_size_t
        value = given(m)
        assigned = run(lambda: setattr(function, "argtypes", value))
        if assigned[0] != "ok":
            return assigned
        first = run(lambda: function(b"abcd", 7))
        function.restype = m.c_long  # prepared again: the types the generator gave stay
        return (function.argtypes is value, first, run(lambda: function(b"abcd", 7)))

    assert_same(case)


def test_deleting_a_functions_argtypes_goes_back_to_none_as_in_ctypes():
    def case(m):
        function = m.CDLL(None)["strlen"]
        function.argtypes = (t for t in [m.c_char_p])
        del function.argtypes
        return function.argtypes, run(lambda: function(b"abc"))

    assert_same(case)


def test_a_failed_argtypes_assignment_keeps_the_old_types_as_in_ctypes():
    def case(m):
        function = m.CDLL(None)["strlen"]
        function.restype = m.c_size_t
        old = (t for t in [m.c_char_p])
        function.argtypes = old
        refused = run(lambda: setattr(function, "argtypes", [int]))
        return refused, function.argtypes is old, run(lambda: function(b"ab"))

    assert_same(case)


# --- arguments that are other parameters' from_param results -----------------------------

CONVERTED_ARGUMENTS = [
    ("c_void_p", lambda m: m.c_char_p.from_param(b"x")),
    ("c_void_p", lambda m: m.c_wchar_p.from_param("x")),
    ("c_void_p", lambda m: m.c_void_p.from_param(5)),
    ("c_void_p", lambda m: m.byref(m.c_int())),
    ("c_char_p", lambda m: m.c_char_p.from_param(b"x")),
    ("c_char_p", lambda m: m.byref(m.c_char(b"x"))),
    ("c_int", lambda m: m.c_int.from_param(3)),
    ("c_long", lambda m: m.c_int.from_param(3)),
]


@pytest.mark.parametrize("param, argument", CONVERTED_ARGUMENTS,
                         ids=[f"{p}-{i}" for i, (p, _) in enumerate(CONVERTED_ARGUMENTS)])
def test_a_from_param_result_is_taken_by_a_parameter_as_in_ctypes(param, argument):
    # labs returns what it is given (its address, for a pointer): compared only as
    # taken or refused, and in what words.
    def case(m):
        function = m.CDLL(None)["labs"]
        function.argtypes = [getattr(m, param)]
        function.restype = m.c_long
        outcome = run(lambda: function(argument(m)))
        return outcome[0] if outcome[0] == "ok" else outcome

    for _ in range(2):  # the second call is prepared: the quickest path takes it
        assert_same(case)


def test_the_quickest_path_refuses_a_string_for_a_void_pointer_as_ctypes():
    def case(m):
        function = m.CDLL(None)["labs"]
        function.argtypes = [m.c_void_p]
        function.restype = m.c_long
        held = m.c_char_p.from_param(b"x")
        return [run(lambda: function(held))[:2] for _ in range(3)]

    assert_same(case)

