"""Pickling C data, as ctypes supports it: instances pickle as their type, their
``__dict__`` and the bytes of their memory; instances holding pointers are refused.

Differential: the same builders run against ``ferrotypes`` and the stdlib's ``ctypes``.
"""

import ctypes as std_ctypes
import copy
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes
from difftools import outcome

PICKLABLE = {
    "c_int": lambda m: m.c_int(-7),
    "c_double": lambda m: m.c_double(2.5),
    "c_char": lambda m: m.c_char(b"x"),
    "c_wchar": lambda m: m.c_wchar("\u20ac"),
    "c_bool": lambda m: m.c_bool(True),
    "c_ulonglong": lambda m: m.c_ulonglong(2**64 - 1),
    "named-array": lambda m: NAMED_ARRAYS[m](1, 2, 3),
    "subclass": lambda m: SUBCLASSES[m](-300),
}

# Only classes pickle can find by module and name pickle (in ctypes too): array
# types made by `c_int * 3` and the byte-swapped variants do not.
class FtTriple(ferrotypes.Array):
    _type_ = ferrotypes.c_int
    _length_ = 3


class StdTriple(std_ctypes.Array):
    _type_ = std_ctypes.c_int
    _length_ = 3


class FtShort(ferrotypes.c_short):
    pass


class StdShort(std_ctypes.c_short):
    pass


NAMED_ARRAYS = {ferrotypes: FtTriple, std_ctypes: StdTriple}
SUBCLASSES = {ferrotypes: FtShort, std_ctypes: StdShort}

UNREACHABLE_CLASSES = {
    "c_int-be": lambda m: m.c_int.__ctype_be__(0x01020304),
    "int*3": lambda m: (m.c_int * 3)(1, 2, 3),
    "char-buffer": lambda m: m.create_string_buffer(b"pickled", 10),
}

WITH_POINTERS = {
    "c_char_p": lambda m: m.c_char_p(b"text"),
    "c_wchar_p": lambda m: m.c_wchar_p("text"),
    "c_void_p": lambda m: m.c_void_p(1234),
    "py_object": lambda m: m.py_object(5),
    "POINTER": lambda m: m.pointer(m.c_int(5)),
    "CFUNCTYPE": lambda m: m.CFUNCTYPE(m.c_int)(),
    "c_char_p*2": lambda m: (m.c_char_p * 2)(),
    "POINTER*2*2": lambda m: (m.POINTER(m.c_int) * 2 * 2)(),
}


@pytest.mark.parametrize("build", PICKLABLE.values(), ids=PICKLABLE.keys())
@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_round_trip_like_ctypes(build, protocol):
    ftobj, stdobj = build(ferrotypes), build(std_ctypes)
    ftcopy = pickle.loads(pickle.dumps(ftobj, protocol))
    stdcopy = pickle.loads(pickle.dumps(stdobj, protocol))
    assert type(ftcopy) is type(ftobj)
    assert bytes(ftcopy) == bytes(ftobj) == bytes(stdcopy)
    assert ftcopy.__dict__ == stdcopy.__dict__
    assert ftcopy._b_needsfree_ == stdcopy._b_needsfree_ == 1


@pytest.mark.parametrize("build", UNREACHABLE_CLASSES.values(), ids=UNREACHABLE_CLASSES.keys())
def test_classes_pickle_cannot_find_fail_like_ctypes(build):
    ftobj, stdobj = build(ferrotypes), build(std_ctypes)
    assert outcome(lambda: pickle.dumps(ftobj)) == outcome(lambda: pickle.dumps(stdobj)) \
        == ("raises", "PicklingError")
    # The reduction itself works; only the class lookup fails.
    assert ftobj.__reduce__()[1][1][1] == bytes(ftobj)


@pytest.mark.parametrize("build", WITH_POINTERS.values(), ids=WITH_POINTERS.keys())
def test_instances_with_pointers_are_refused_like_ctypes(build):
    ftobj, stdobj = build(ferrotypes), build(std_ctypes)
    assert outcome(lambda: pickle.dumps(ftobj)) == outcome(lambda: pickle.dumps(stdobj)) \
        == ("raises", "ValueError")
    with pytest.raises(ValueError, match="containing pointers cannot be pickled"):
        ftobj.__reduce__()


def test_reduce_has_ctypes_shape(ft):
    func, (cls, (state_dict, data)) = ft.c_int(5).__reduce__()
    assert func is ft._ctypes._unpickle
    assert cls is ft.c_int and state_dict == {} and data == b"\x05\0\0\0"


def test_subclass_attributes_travel_with_the_bytes(ft):
    global Tagged  # pickle finds classes by module and name

    class Tagged(ft.c_short):
        pass

    obj = Tagged(300)
    obj.label = "kept"
    back = pickle.loads(pickle.dumps(obj))
    assert type(back) is Tagged and back.value == 300 and back.label == "kept"


def test_copy_module_uses_the_same_protocol(ft):
    arr = (ft.c_double * 2)(1.5, -2.0)
    dup = copy.deepcopy(arr)
    assert list(dup) == [1.5, -2.0]
    dup[0] = 0.0
    assert arr[0] == 1.5  # a copy, not a view


def test_resized_instances_pickle_all_their_bytes(ft, std):
    results = []
    for m in (ft, std):
        obj = m.c_int(3)
        m.resize(obj, 16)
        results.append(obj.__reduce__()[1][1][1])
    assert results[0] == results[1]


@pytest.mark.parametrize("args", [([], b""), ({}, bytearray(b"\x01")), ({}, 5)],
                         ids=["list-dict", "bytearray", "int"])
def test_setstate_refuses_like_ctypes(args):
    assert outcome(lambda: ferrotypes.c_int(1).__setstate__(*args)) == \
        outcome(lambda: std_ctypes.c_int(1).__setstate__(*args))


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=12), attrs=st.dictionaries(st.sampled_from("abc"), st.integers()))
def test_setstate_copies_at_most_the_size_like_ctypes(data, attrs):
    ftobj, stdobj = ferrotypes.c_int(-1), std_ctypes.c_int(-1)
    ftobj.__setstate__(dict(attrs), data)
    stdobj.__setstate__(dict(attrs), data)
    assert ftobj.value == stdobj.value
    assert ftobj.__dict__ == stdobj.__dict__ == attrs
