"""Tests that fail today because of known, not-yet-fixed differences from ctypes.

One list, each entry a test id (with its parameters) and the reason. conftest.py marks matching tests
``xfail(strict=True)``: when a fix lands, the test passes, strict xfail turns that into
a failure, and the entry must be removed here. Nothing else in the suite is skipped.
"""

_WIDE_STRING_KEEP = ("c_wchar_p.from_param('x') keeps its wchar_t copy in a bytes object where ctypes keeps a "
                     "PyCapsule: its _obj, and a refusal naming what it points to, say bytes")

KNOWN_DIFFERENCES = {
    **{f"test_refusals_as_ctypes.py::test_from_param_gives_and_refuses_as_ctypes_in_its_words[{t}-c_wchar_p.from_param('x')]":
       _WIDE_STRING_KEEP for t in ("POINTER(c_int)", "POINTER(Point)", "c_int * 3", "c_char * 3")},
}


#: Statements of the hostile-input fuzzer (tests/hostile.py) that end differently
#: from ctypes on purpose: ``(statement tag, how ctypes ends, how ferrotypes ends)``
#: (an exception's name, ``ok``; ``*`` for any) to the reason.
_NULL = "ferrotypes refuses to read or view NULL (ValueError: NULL pointer access); ctypes reads it and crashes, or reads nothing for a size of 0"
_TARGET = "a pointer's target must be an instance of its target type (README: ctypes takes any C data and reads past it)"
_RECORD_RESULT = "ctypes refuses every record as a callback result (TypeError); ferrotypes takes the records libffi can describe (README)"
_PACKED = "a packed record of at most 16 bytes is refused by value when it is declared as a restype/argtype (TypeError, README), where ctypes passes it wrongly"
_NUL_NAME = "a NUL byte in a function name is ValueError; ctypes looks up the name up to the NUL (a different function) or reports the prefix missing"
_SIZE_DEFAULT = "string_at/wstring_at take size=None as the default size; ctypes only takes an int"

EXCEPTION_DIFFERENCES = {
    ("from_address_null", "ok", "ValueError"): _NULL,
    ("string_at", "ok", "ValueError"): _NULL,
    ("string_at", "SystemError", "ValueError"): _NULL,
    ("wstring_at", "ok", "ValueError"): _NULL,
    ("string_at", "MemoryError", "ValueError"): _NULL + " (ctypes allocates the size first)",
    ("wstring_at", "MemoryError", "ValueError"): _NULL + " (ctypes allocates the size first)",
    ("wstring_at", "SystemError", "ValueError"): _NULL,
    ("string_at", "ArgumentError", "ok"): _SIZE_DEFAULT,
    ("wstring_at", "ArgumentError", "ok"): _SIZE_DEFAULT,
    ("contents_set", "ok", "TypeError"): _TARGET,
    ("callback", "TypeError", "*"): _RECORD_RESULT,
    ("callback_call", "TypeError", "*"): _RECORD_RESULT,
    ("callback", "ok", "TypeError"): _PACKED,
    ("call", "ok", "TypeError"): _PACKED,
    ("call", "ArgumentError", "TypeError"): _PACKED,
    ("call", "RuntimeError", "TypeError"): _PACKED + " (before another argument type is refused by libffi)",
    **{(tag, "TypeError", "IndexError"): "byref()'s CArgObject takes no items; CPython converts an index of a "
       "PyO3 class (which has sequence slots) before saying so, so an index beyond isize is IndexError first"
       for tag in ("index", "index_set")},
    ("call", "NameError", "TypeError"): _PACKED + " (before the call's arguments are evaluated)",
    ("record_init", "ok", "TypeError"): _TARGET,
    ("record_init", "TypeError", "ok"):
        "a pointer type made from a name (POINTER('node')) before SetPointerType makes NULL instances; "
        "ctypes refuses to make any (TypeError: has no _type_)",
    ("lib_attr", "*", "ValueError"): _NUL_NAME,
    ("lib_item", "*", "ValueError"): _NUL_NAME,
    ("cdll", "TypeError", "*"):
        "3.13's CDLL compares a bytes name with the str '.fwork' and fails with TypeError; ferrotypes "
        "takes bytes names as ctypes did before 3.13 (the load then succeeds or is the loader's OSError)",
    ("cdll", "UnicodeDecodeError", "OSError"):
        "ctypes fails to decode the loader's message about a name with a lone surrogate; ferrotypes raises the OSError",
    ("string_at", "ArgumentError", "ValueError"): _SIZE_DEFAULT + " (then NULL is refused)",
    ("wstring_at", "ArgumentError", "ValueError"): _SIZE_DEFAULT + " (then NULL is refused)",
    ("make_pointer", "ok", "TypeError"): _TARGET,
    ("pack", "ok", "ValueError"):
        "_pack_ must be a power of two, as GCC's #pragma pack requires; ctypes takes any value",
    ("set_pointer_type", "ok", "RuntimeError"):
        "fuzzer state: an earlier program in the same worker made the pointer class, which SetPointerType "
        "refuses in both; ctypes' worker, restarted after each ctypes crash, may not have seen that program",
    ("record_init", "ArgumentError", "ValueError"):
        "calling a NULL function pointer is ValueError before the arguments are converted; ctypes converts "
        "them first (then crashes calling NULL)",
    ("callback", "ok", "RuntimeError"):
        "a refused _fields_ assignment leaves a ctypes record partly laid out, which ctypes then passes by value; "
        "ferrotypes keeps it incomplete (no bytes), which libffi refuses",
    **{(tag, "ok", "OverflowError"): "a record larger than isize::MAX bytes (larger than any object may be) is "
       "OverflowError; ctypes 3.11 crashes, 3.12 and later define a class of which no instance can exist"
       for tag in ("record", "union", "fields_late")},
    ("call", "ArgumentError", "MemoryError"):
        "the result of a restype no memory holds is refused (MemoryError) before the arguments are converted",
    ("pointer_slice_step", "SystemError", "MemoryError"):
        "ctypes' slice length overflows (SystemError from PyList_New); ferrotypes reports the length no memory holds",
    ("pointer_slice", "SystemError", "MemoryError"):
        "ctypes' slice length overflows (SystemError from PyList_New); ferrotypes reports the length no memory holds",
}


#: Differences that follow a ``_fields_`` assignment that raised in both (the
#: fuzzer's ``fields_late``), keyed as above.
AFTER_FAILED_FIELDS = {
    ("call_undeclared", "ok", "RuntimeError"):
        "after a _fields_ assignment that raised, ctypes leaves the class half laid out (size 0, "
        "the fields before the failing one described to libffi), so an instance passes by value; "
        "ferrotypes leaves the class incomplete, as it was, and passing an incomplete record by "
        "value is ctypes' own RuntimeError (README, differences)",
}
