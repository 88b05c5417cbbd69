"""The hostile inputs of issue 17, each run under the stdlib's ctypes and under
ferrotypes (in worker processes, so a crash fails one case): ferrotypes must end as
ctypes ends — the same exception type, or success — unless the case names the
documented ending it has instead. Never a Rust panic, an abort or a crash.
"""

import sys

import pytest

import hostile

#: name -> (code, ferrotypes' documented ending where it differs from ctypes, or None)
CASES = {
    # Records libffi cannot describe, by value: ctypes' RuntimeError/TypeError.
    "empty_struct_argument": ("class S(C.Structure): _fields_ = []\nf = lib['labs']; f.argtypes = [S]; f(S())", None),
    "empty_struct_argtypes_only": ("class S(C.Structure): _fields_ = []\nf = lib['labs']; f.argtypes = [S]", None),
    "empty_struct_result": ("class S(C.Structure): _fields_ = []\nf = lib['labs']; f.argtypes = [C.c_long]; f.restype = S; f(1)", None),
    "incomplete_struct_argument": ("class S(C.Structure): pass\nf = lib['labs']; f.argtypes = [S]; f(S())", None),
    "incomplete_struct_result": ("class S(C.Structure): pass\nf = lib['labs']; f.restype = S; f(1)", None),
    "fieldless_union_argument": ("class U(C.Union): _fields_ = []\nf = lib['labs']; f.argtypes = [U]; f(U())", None),
    "zero_array_only_argument": ("class S(C.Structure): _fields_ = [('a', C.c_int * 0)]\nf = lib['labs']; f.argtypes = [S]; f(S())", None),
    "zero_array_only_result": ("class S(C.Structure): _fields_ = [('a', C.c_int * 0)]\nf = lib['labs']; f.restype = S; f(1)", None),
    "undeclared_empty_struct": ("class S(C.Structure): _fields_ = []\nlib.labs(S())", None),
    "variadic_empty_struct": ("class S(C.Structure): _fields_ = []\nf = lib['printf']; f.argtypes = [C.c_char_p]; f(b'', S())", None),
    "callback_empty_struct_argument": ("class S(C.Structure): _fields_ = []\nC.CFUNCTYPE(C.c_int, S)(lambda s: 0)", None),
    "callback_incomplete_argument": ("class S(C.Structure): pass\nC.CFUNCTYPE(C.c_int, S)(lambda s: 0)", None),
    "callback_zero_array_argument": ("class S(C.Structure): _fields_ = [('a', C.c_int * 0)]\nC.CFUNCTYPE(None, S)(lambda s: 0)", None),
    "callback_empty_struct_result": ("class S(C.Structure): _fields_ = []\nC.CFUNCTYPE(S, C.c_int)(lambda n: 0)", None),
    "callback_fieldless_union_result": ("class U(C.Union): _fields_ = []\nC.CFUNCTYPE(U)(lambda: 0)", None),
    # Sizes the user controls.
    "pointer_slice_2_40": ("C.pointer(C.c_int(1))[0:2**40]", None),
    "pointer_slice_2_62": ("C.pointer(C.c_int(1))[0:2**62]", None),
    "pointer_slice_stepped": ("C.pointer(C.c_int(1))[0:2**62:2**20]", None),
    "char_pointer_slice_2_40": ("C.cast(C.create_string_buffer(4), C.POINTER(C.c_char))[0:2**40]", None),
    "huge_struct_from_buffer": ("class S(C.Structure): _fields_ = [('a', C.c_char * 2**40)]\nS.from_buffer(bytearray(8))", None),
    "huge_struct_from_buffer_copy": ("class S(C.Structure): _fields_ = [('a', C.c_char * 2**40)]\nS.from_buffer_copy(bytearray(8))", None),
    "huge_struct_instance": ("class S(C.Structure): _fields_ = [('a', C.c_char * 2**40)]\nS()", None),
    "huge_array_result": ("f = lib['labs']; f.argtypes = [C.c_long]; f.restype = C.c_int * 2**40; f(1)", None),
    "huge_string_buffer": ("C.create_string_buffer(2**62)", None),
    "huge_resize": ("C.resize(C.create_string_buffer(8), 2**62)", None),
    "array_too_large": ("C.c_int * 2**61", None),
    # ctypes crashes on these; ferrotypes raises.
    "struct_past_isize": ("class S(C.Structure): _fields_ = [('a', C.c_char * 2**62), ('b', C.c_char * 2**62)]", "OverflowError"),
    "huge_struct_result": ("class S(C.Structure): _fields_ = [('a', C.c_char * 2**40)]\n"
                           "f = lib['labs']; f.argtypes = [C.c_long]; f.restype = S; f(1)", "MemoryError"),
    # NUL bytes in names that reach C.
    "in_dll_nul": ("C.c_int.in_dll(lib, 'abs\\0junk')", None),
    "cdll_nul": ("C.CDLL('libc.so.6\\0x')", None),
    "find_library_nul": ("U.find_library('c\\0x')", None),
    "function_name_nul": ("lib['abs\\0junk']", "ValueError"),  # ctypes resolves 'abs'
    "prototype_name_nul": ("C.CFUNCTYPE(C.c_int)(('abs\\0junk', lib))", "ValueError"),
    # Exceptions that differed.
    "POINTER_of_int": ("C.POINTER(5)", None),
    "POINTER_of_abstract_union": ("C.POINTER(C.Union)", None),
    "cast_non_pointer": ("C.cast(C.c_int(1), C.c_int)", None),
    "cast_non_type": ("C.cast(1.5, 'c_int')", None),
    "array_index_2_70": ("(C.c_int * 3)()[2**70]", None),
    "array_store_2_70": ("a = (C.c_int * 3)(); a[2**70] = 1", None),
    "pointer_index_2_70": ("C.pointer(C.c_int(1))[2**70]", None),
    "pointer_slice_past_isize": ("C.pointer(C.c_int(1))[1:2**64]", None),
    "slice_store_int": ("a = (C.c_int * 3)(); a[0:2] = 5", None),
    "slice_store_iterator": ("a = (C.c_int * 3)(); a[0:2] = iter([1, 2])", None),
    "unicode_buffer_surrogate": ("b = C.create_unicode_buffer('a\\udc80'); assert b.value == 'a\\udc80'", None),
    "wchar_p_surrogate": ("assert C.c_wchar_p('a\\udc80').value == 'a\\udc80'", None),
    "py_object_cast": ("o = [1]; assert C.cast(C.c_void_p(id(o)), C.py_object).value is o", None),
    "string_at_past_c_int": ("assert C.string_at(C.create_string_buffer(b'abcdef'), 2**32 + 2) == b'ab'", None),
    "byref_offset_past_isize": ("C.byref(C.c_int(), 2**70)", None),
    "byref_of_class": ("C.byref(C.c_int, 2**70)", None),
    "from_buffer_negative_offset": ("(C.c_int * 2).from_buffer((C.c_int * 4)(), -1)", None),
    "function_address_past_2_64": ("C.CFUNCTYPE(C.c_int)(2**64)", None),
    "bit_field_past_c_int": ("class S(C.Structure): _fields_ = [('a', C.c_int, 2**70)]", None),
    "field_name_surrogate": ("class S(C.Structure): _fields_ = [('\\udc80', C.c_int)]", None),
    "union_field_name_surrogate": ("class U(C.Union): _fields_ = [('\\udc80', C.c_int)]", None),
    "function_name_surrogate": ("lib['\\udc80']", None),
    # Indexes and slices at the extremes of isize (the panic audit's sites).
    "array_index_min_isize": ("(C.c_int * 3)()[-2**63]", None),
    "array_index_max_isize": ("(C.c_int * 3)()[2**63 - 1]", None),
    "array_index_int_subclass_min_isize": ("class I(int): pass\n(C.c_int * 3)()[I(-2**63)]", None),
    "array_store_min_isize": ("a = (C.c_int * 3)(); a[-2**63] = 1", None),
    "array_index_one_before_start": ("(C.c_int * 3)()[-4]", None),
    "wchar_subclass_pointer_slice_2_62": ("class W(C.c_wchar): pass\nC.cast(C.create_unicode_buffer(4), C.POINTER(W))[0:2**62]", None),
    "wchar_pointer_slice_2_62": ("C.cast(C.create_unicode_buffer(4), C.POINTER(C.c_wchar))[0:2**62]", None),
    "wchar_subclass_array_slice": ("class W(C.c_wchar): pass\nassert (W * 3)(*'abc')[0:2] == 'ab'", None),
    # A str argument without argtypes: a NUL inside is refused, an empty one passes.
    "untyped_str_with_nul": ("lib.wcslen('a\\0b')", None),
    "untyped_empty_str": ("assert lib.wcslen('') == 0", None),
    # Narrow integers through `...` get C's promotions (docs/features.md); libffi
    # refuses them to ctypes (RuntimeError).
    "variadic_narrow_ints": ("b = C.create_string_buffer(64); f = lib['snprintf']; f.argtypes = [C.c_char_p, C.c_size_t, C.c_char_p]\n"
                             "f(b, 64, b'%d %d %d %d', C.c_byte(-2), C.c_ubyte(255), C.c_short(-3), C.c_ushort(65535))\n"
                             "assert b.value == b'-2 255 -3 65535', b.value", "ok"),
    # ctypes 3.11 lets the OSError through; 3.12 and 3.13 raise AttributeError, as
    # ferrotypes does on every version.
    "missing_library_attribute": ("C.cdll.nonexistent_xyz_ft", "AttributeError" if sys.version_info < (3, 12) else None),
}


@pytest.fixture(scope="module")
def endings():
    """How each case ends, under ctypes and under ferrotypes."""
    names = list(CASES)
    programs = [[(name, CASES[name][0])] for name in names]
    result = {}
    for module in ("ctypes", "ferrotypes"):
        worker = hostile.Worker(module, timeout=60)
        try:
            result[module] = dict(zip(names, worker.run(programs)))
        finally:
            worker.close()
    return result


@pytest.mark.parametrize("name", list(CASES))
def test_ends_as_under_ctypes(endings, name):
    documented = CASES[name][1]
    ours, theirs = endings["ferrotypes"][name], endings["ctypes"][name]
    assert not isinstance(ours, str), f"ferrotypes: {ours}"
    assert ours != ["panic"]
    if documented is None:
        assert ours == theirs
    else:
        assert ours == [documented], f"ferrotypes {ours}, documented {documented}, ctypes {theirs}"
        assert theirs != ours  # else the entry is stale


def test_the_issue_cases_raise_what_ctypes_raises(endings):
    """A few endings spelled out, so that a change in ctypes itself is noticed."""
    ours = endings["ferrotypes"]
    assert ours["empty_struct_argument"] == ["RuntimeError"]
    assert ours["callback_empty_struct_argument"] == ["RuntimeError"]
    assert ours["callback_empty_struct_result"] == ["TypeError"]
    assert ours["pointer_slice_2_40"] == ["MemoryError"]
    assert ours["huge_struct_from_buffer"] == ["ValueError"]
    assert ours["in_dll_nul"] == ["ValueError"]
    assert ours["array_index_2_70"] == ["IndexError"]
    assert ours["empty_struct_argtypes_only"] == ["ok"]
    assert ours["array_index_min_isize"] == ["IndexError"]
    assert ours["wchar_pointer_slice_2_62"] == ["MemoryError"]
    assert ours["untyped_str_with_nul"] == ["ArgumentError"]


def test_long_array_members_cost_nothing_to_describe():
    """A structure with a 10**8-element array member is defined in constant time and
    memory (it used to cost ~107 bytes per element), and passes by value."""
    import resource
    import time

    import ferrotypes as C

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()

    class Big(C.Structure):
        _fields_ = [("head", C.c_int), ("data", C.c_char * 10**8), ("tail", C.c_double * 10**7)]

    class Small(C.Structure):
        _fields_ = [("data", C.c_char * 100), ("n", C.c_long)]

    elapsed = time.perf_counter() - started
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert elapsed < 0.05, elapsed
    assert grown_kib < 10_000, grown_kib
    # A 108-byte record crosses by value whole, described by its size alone.
    echo = C.CFUNCTYPE(Small, Small)(lambda s: s)
    s = Small(b"x" * 99, -7)
    back = echo(s)
    assert (back.data, back.n) == (b"x" * 99, -7)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ ctypes raises AttributeError too")
def test_missing_library_attribute_differs_only_on_3_11(endings):
    assert endings["ctypes"]["missing_library_attribute"] == ["OSError"]
