"""Function prototypes: ``CFUNCTYPE``/``PYFUNCTYPE`` classes and the function objects
made from them (by address, by name and library, over memory holding a function
pointer), and a function object's signature attributes being deleted.

``fttest`` (tests/conftest.py) is the C test library (tests/clib/fttest.c) loaded by
both implementations; ``fttest.func(name, restype, argtypes)`` gives a freshly
configured function object of each.
"""

import ctypes as std_ctypes

import pytest
from hypothesis import given

import ferrotypes
from calltools import FAST, address_of, int32s
from difftools import outcome


# --------------------------------------------------------------------------
# Function prototypes from addresses
# --------------------------------------------------------------------------

@FAST
@given(a=int32s, b=int32s)
def test_cfunctype_calls_a_function_by_address(fttest, a, b):
    prototype = ferrotypes.CFUNCTYPE(ferrotypes.c_int, ferrotypes.c_int, ferrotypes.c_int)
    add = prototype(address_of(fttest.std.ft_add_int))
    assert add(a, b) == (a + b + 2**31) % 2**32 - 2**31


def test_cfunctype_example(fttest, ft):
    prototype = ft.CFUNCTYPE(ft.c_double, ft.c_double, ft.c_double)
    add = prototype(address_of(fttest.std.ft_add_double))
    assert add(1.5, 2) == 3.5
    assert add.argtypes == (ft.c_double, ft.c_double)
    assert add.restype is ft.c_double
    assert bool(add)
    with pytest.raises(ft.ArgumentError):
        add("x", 1)
    with pytest.raises(TypeError):
        add(1.0)


def test_cfunctype_prototypes_are_cached(ft):
    assert ft.CFUNCTYPE(ft.c_int, ft.c_int) is ft.CFUNCTYPE(ft.c_int, ft.c_int)
    assert ft.CFUNCTYPE(ft.c_int) is not ft.CFUNCTYPE(ft.c_int, use_errno=True)
    assert ft.PYFUNCTYPE(ft.c_int) is not ft.CFUNCTYPE(ft.c_int)


@pytest.mark.parametrize("use_errno", [False, True])
@pytest.mark.parametrize("use_last_error", [False, True])
def test_cached_prototypes_keep_their_flags_as_ctypes(ft, std, use_errno, use_last_error):
    # The cached prototype is found before any other option is looked at: each
    # combination of flags is its own class, made once, with ctypes' _flags_.
    made = ft.CFUNCTYPE(ft.c_long, ft.c_char_p, use_errno=use_errno, use_last_error=use_last_error)
    assert ft.CFUNCTYPE(ft.c_long, ft.c_char_p, use_errno=use_errno, use_last_error=use_last_error) is made
    oracle = std.CFUNCTYPE(std.c_long, std.c_char_p, use_errno=use_errno, use_last_error=use_last_error)
    assert made._flags_ == oracle._flags_
    assert made._argtypes_ == (ft.c_char_p,) and made._restype_ is ft.c_long
    others = {ft.CFUNCTYPE(ft.c_long, ft.c_char_p, use_errno=e, use_last_error=le)
              for e in (False, True) for le in (False, True)}
    assert len(others) == 4
    # The options of ferrotypes' own still make their own classes after a cached lookup.
    assert ft.CFUNCTYPE(ft.c_long, ft.c_char_p, use_errno=use_errno, use_last_error=use_last_error,
                        error_result=-1) is not made
    assert ft.CFUNCTYPE(ft.c_long, ft.c_char_p, use_errno=use_errno, use_last_error=use_last_error,
                        propagate=True) is not made


def _said(action):
    """``("ok", value)``, or the exception's type name and message."""
    try:
        return ("ok", action())
    except Exception as exc:  # noqa: BLE001 (the exception is the outcome)
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize("keywords", [
    {"bogus": 1},
    {"use_errno": True, "bogus": 1, "other": 2},
    {"other": 2, "use_last_error": False, "bogus": 1},
    {"restype": 1},
])
def test_cfunctype_refuses_unknown_keywords_as_ctypes(ft, std, keywords):
    # ctypes' CFUNCTYPE takes **kw and refuses what is left with ValueError, naming the
    # keys in the order given; PYFUNCTYPE takes no keywords (Python's own TypeError).
    for make in ("CFUNCTYPE", "PYFUNCTYPE"):
        ours = _said(lambda: getattr(ft, make)(ft.c_int, ft.c_int, **keywords) and "made")
        theirs = _said(lambda: getattr(std, make)(std.c_int, std.c_int, **keywords) and "made")
        assert ours == theirs


_PROTOTYPE_BODIES = {
    "no _flags_": lambda m: {"_argtypes_": (), "_restype_": m.c_int},
    "empty": lambda m: {},
    "_flags_ float": lambda m: {"_flags_": 1.0},
    "_flags_ str": lambda m: {"_flags_": "1"},
    "_flags_ None": lambda m: {"_flags_": None},
    "_flags_ bool": lambda m: {"_flags_": True},
    "_flags_ large": lambda m: {"_flags_": 2**70},
    "_flags_ negative": lambda m: {"_flags_": -1},
    "_argtypes_ None": lambda m: {"_flags_": 1, "_argtypes_": None},
    "_argtypes_ int": lambda m: {"_flags_": 1, "_argtypes_": 5},
    "_argtypes_ list": lambda m: {"_flags_": 1, "_argtypes_": [m.c_int]},
    "_argtypes_ str": lambda m: {"_flags_": 1, "_argtypes_": "ab"},
    "_argtypes_ empty str": lambda m: {"_flags_": 1, "_argtypes_": ""},
    "_argtypes_ generator": lambda m: {"_flags_": 1, "_argtypes_": (t for t in [m.c_int, m.c_double])},
    "_argtypes_ bad item": lambda m: {"_flags_": 1, "_argtypes_": (m.c_int, 3)},
    "_argtypes_ too many": lambda m: {"_flags_": 1, "_argtypes_": (m.c_int,) * 1025},
    "_restype_ int": lambda m: {"_flags_": 1, "_restype_": 3},
    "_restype_ None": lambda m: {"_flags_": 1, "_restype_": None},
    "_restype_ callable": lambda m: {"_flags_": 1, "_restype_": len},
    "bad _flags_ before bad _argtypes_": lambda m: {"_flags_": "x", "_argtypes_": 5},
    "bad _argtypes_ before bad _restype_": lambda m: {"_flags_": 1, "_argtypes_": 5, "_restype_": 3},
}


@pytest.mark.parametrize("body", sorted(_PROTOTYPE_BODIES))
@pytest.mark.parametrize("base", ["_CFuncPtr", "a prototype"])
def test_prototype_class_bodies_are_checked_as_in_ctypes(ft, std, body, base):
    # ctypes reads _flags_, _argtypes_ and _restype_ from the class body only (a
    # subclass of a prototype must give _flags_ again), in that order.
    def define(m):
        parent = m._CFuncPtr if base == "_CFuncPtr" else m.CFUNCTYPE(m.c_int, m.c_int)
        cls = type(parent)("F", (parent,), _PROTOTYPE_BODIES[body](m))
        return len(cls.__dict__.get("_argtypes_", ())) if body != "_argtypes_ generator" else "made"
    assert _said(lambda: define(ft)) == _said(lambda: define(std))


def test_a_prototype_with_a_generator_as_argtypes_converts_with_its_types(fttest):
    # ctypes makes its converters from the types the iterator gave, once.
    for m, lib in ((ferrotypes, fttest.ft), (std_ctypes, fttest.std)):
        class Add(m._CFuncPtr):
            _flags_ = m._FUNCFLAG_CDECL
            _argtypes_ = (t for t in (m.c_int, m.c_int))
            _restype_ = m.c_int
        assert Add(("ft_add_int", lib))(2, 3) == 5
        with pytest.raises(m.ArgumentError):
            Add(("ft_add_int", lib))("2", 3)


def test_class_statements_without_flags_are_refused_as_in_ctypes(ft, std):
    def define(m):
        class F(m._CFuncPtr):
            _argtypes_ = ()
            _restype_ = m.c_int
        return F
    expected = ("TypeError", "class must define _flags_ which must be an integer")
    assert _said(lambda: define(ft)) == _said(lambda: define(std)) == expected


def _construct_prototype_instances(m):
    """What making function pointers from a prototype gives, in module ``m``."""
    proto = m.CFUNCTYPE(m.c_int, m.c_int)
    triple = lambda x: x * 3  # noqa: E731
    out = [proto(triple)(4), proto.__new__(proto, triple)(5)]

    class Tagged(proto):
        _flags_, _argtypes_, _restype_ = proto._flags_, proto._argtypes_, proto._restype_

        def __new__(cls, fn):
            self = super().__new__(cls, fn)
            self.tag = "tagged"
            return self

    tagged = Tagged(triple)
    out.append((tagged(6), tagged.tag, type(tagged).__name__, tagged.__dict__))
    plain = proto(triple)
    out.append(plain.__dict__)
    plain.extra = 1
    out.append((plain.__dict__, sorted(plain._objects)))
    out.append((bool(proto()), bool(proto(0))))
    for args in [(1, 2), (triple, 1), ("x",), (1.5,)]:
        try:
            proto(*args)
            out.append("made")
        except TypeError as e:
            out.append(("TypeError", str(e)))
    out.append(proto(triple, bogus=1)(2))  # keywords are __init__'s, and ignored
    return out


def test_constructing_prototype_instances_like_ctypes(ft, std):
    assert _construct_prototype_instances(ft) == _construct_prototype_instances(std)


def _initialise_prototype_instances(m):
    """Classes of a prototype with and without an ``__init__`` of their own, in ``m``."""
    proto = m.CFUNCTYPE(m.c_int, m.c_int)
    signature = {"_flags_": proto._flags_, "_argtypes_": proto._argtypes_, "_restype_": proto._restype_}

    def own_init(self, fn):
        self.inited = fn(1)

    def init_calling_base(self, fn):
        super(type(self), self).__init__()
        self.base_inited = True

    own = type("Own", (proto,), {**signature, "__init__": own_init})
    inherits_own = type("InheritsOwn", (own,), dict(signature))
    calls_base = type("CallsBase", (proto,), {**signature, "__init__": init_calling_base})
    o, i, c, p = own(lambda x: x + 1), inherits_own(lambda x: x * 5), calls_base(lambda x: -x), proto(abs)
    return [(o(1), o.inited), (i(2), i.inited), (c(4), c.base_inited), (proto.__init__(p), p(-3))]


def test_initialising_prototype_instances_like_ctypes(ft, std):
    assert _initialise_prototype_instances(ft) == _initialise_prototype_instances(std)


def test_cfunctype_from_name_and_library(fttest, ft):
    add = ft.CFUNCTYPE(ft.c_int, ft.c_int, ft.c_int)(("ft_add_int", fttest.ft))
    assert add(20, 22) == 42


def test_cfunctype_instance_may_override_its_signature(fttest, ft):
    f = ft.CFUNCTYPE(ft.c_int)(address_of(fttest.std.ft_add_double))
    f.argtypes = [ft.c_double, ft.c_double]
    f.restype = ft.c_double
    assert f(0.5, 0.25) == 0.75


def test_cfunctype_restype_none(fttest, ft):
    bump = ft.CFUNCTYPE(None)(address_of(fttest.std.ft_bump_counter))
    assert bump() is None


def test_cfunctype_from_address_keeps_the_prototype(fttest, ft, std):
    # A function pointer stored in memory, viewed with from_address: it calls
    # with the prototype's argtypes and restype.
    slot = ft.c_void_p(address_of(fttest.std.ft_add_int))
    std_slot = std.c_void_p(slot.value)
    ftf = ft.CFUNCTYPE(ft.c_int, ft.c_int, ft.c_int).from_address(ft.addressof(slot))
    stdf = std.CFUNCTYPE(std.c_int, std.c_int, std.c_int).from_address(std.addressof(std_slot))
    assert ftf(3, 4) == stdf(3, 4) == 7


def test_pyfunctype_calls_python_api(ft):
    address = std_ctypes.cast(std_ctypes.pythonapi.PyLong_FromLong, std_ctypes.c_void_p).value
    from_long = ft.PYFUNCTYPE(ft.py_object, ft.c_long)(address)
    assert from_long(77) == 77
    assert from_long(-(2**40)) == -(2**40)


# --------------------------------------------------------------------------
# Signature attributes
# --------------------------------------------------------------------------

@pytest.mark.parametrize("attr", ["argtypes", "restype", "errcheck"])
def test_function_attributes_can_be_deleted_like_ctypes(fttest, attr):
    ftf, stdf = fttest.ft["ft_f0"], fttest.std["ft_f0"]
    assert outcome(lambda: delattr(ftf, attr)) == outcome(lambda: delattr(stdf, attr))
    assert outcome(ftf) == outcome(stdf)


# --------------------------------------------------------------------------
# The recipe a prototype's instances share (function/class_recipe.rs)
# --------------------------------------------------------------------------

def _prototype_class(restype, *argtypes):
    """A prototype class of its own (not CFUNCTYPE's cached one), free to change."""
    class Proto(ferrotypes._CFuncPtr):
        _argtypes_ = argtypes
        _restype_ = restype
        _flags_ = ferrotypes._FUNCFLAG_CDECL
    return Proto


def test_instances_made_after_a_class_signature_change_follow_it():
    proto = _prototype_class(ferrotypes.c_double, ferrotypes.c_int)
    first = proto(lambda x: x / 2)
    second = proto(lambda x: x / 4)
    assert (first(3), second(3)) == (1.5, 0.75)
    proto._argtypes_ = (ferrotypes.c_double,)
    third = proto(lambda x: x / 2)
    assert third(3.5) == 1.75
    with pytest.raises(ferrotypes.ArgumentError):
        first(3.5)  # made before the change: keeps the signature it was made with


def test_instances_made_after_an_argument_type_changes_follow_it():
    class Pair(ferrotypes.Structure):
        _fields_ = [("a", ferrotypes.c_int), ("b", ferrotypes.c_int)]

    proto = _prototype_class(ferrotypes.c_int, ferrotypes.POINTER(Pair))
    before = proto(lambda p: p.contents.a)
    assert before(ferrotypes.pointer(Pair(1, 2))) == 1
    ferrotypes.POINTER(Pair).from_param = classmethod(lambda cls, obj: ferrotypes.pointer(Pair(obj, 0)))
    after = proto(lambda p: p.contents.a)
    assert after(7) == 7


def test_a_prototype_class_in_a_cycle_through_its_shared_recipe_is_collected():
    import gc
    import weakref

    def make():
        proto = _prototype_class(None, ferrotypes.c_int)
        proto._restype_ = lambda value: proto  # a result callable referring to the class
        proto(0)  # a NULL function pointer: the class's recipe is made and shared all the same
        return weakref.ref(proto)

    ref = make()
    gc.collect()
    assert ref() is None
