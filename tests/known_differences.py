"""Tests that fail today because of known, not-yet-fixed differences from ctypes.

One list, each entry a test id (with its parameters) and the reason. conftest.py marks matching tests
``xfail(strict=True)``: when a fix lands, the test passes, strict xfail turns that into
a failure, and the entry must be removed here. Nothing else in the suite is skipped.
"""

KNOWN_DIFFERENCES = {
    'test_calls.py::test_function_attributes_can_be_deleted_like_ctypes[argtypes]':
        'del f.argtypes/restype/errcheck: PyO3 setters refuse deletion',
    'test_calls.py::test_function_attributes_can_be_deleted_like_ctypes[errcheck]':
        'del f.argtypes/restype/errcheck: PyO3 setters refuse deletion',
    'test_calls.py::test_function_attributes_can_be_deleted_like_ctypes[restype]':
        'del f.argtypes/restype/errcheck: PyO3 setters refuse deletion',
    'test_calls.py::test_lone_surrogates_round_trip_like_ctypes[c_wchar]':
        'lone surrogates in c_wchar/c_wchar_p are refused (Rust strings cannot hold them)',
    'test_calls.py::test_lone_surrogates_round_trip_like_ctypes[c_wchar_p]':
        'lone surrogates in c_wchar/c_wchar_p are refused (Rust strings cannot hold them)',
    'test_calls.py::test_lone_surrogates_round_trip_like_ctypes[str-without-argtypes]':
        'lone surrogates in c_wchar/c_wchar_p are refused (Rust strings cannot hold them)',
    'test_calls.py::test_restype_byte_swapped_returns_a_plain_int_like_ctypes':
        'a byte-swapped simple restype returns an instance instead of the value',
    'test_calls.py::test_str_without_argtypes_passes_as_wchar_pointer':
        'a str with an embedded NUL is accepted without argtypes',
    'test_simple_types.py::test_big_endian_buffer_format':
        'C data instances do not export the buffer protocol yet (C data issue)',
    'test_simple_types.py::test_deleting_value_raises_like_ctypes':
        'del instance.value raises AttributeError, ctypes raises TypeError',
    'test_simple_types.py::test_from_buffer_copy_sources_like_ctypes[strided]':
        'a non-contiguous source raises TypeError, ctypes raises BufferError',
    'test_simple_types.py::test_instances_export_their_memory_as_a_buffer[c_char]':
        'C data instances do not export the buffer protocol yet (C data issue)',
    'test_simple_types.py::test_instances_export_their_memory_as_a_buffer[c_double]':
        'C data instances do not export the buffer protocol yet (C data issue)',
    'test_simple_types.py::test_instances_export_their_memory_as_a_buffer[c_int]':
        'C data instances do not export the buffer protocol yet (C data issue)',
    'test_simple_types.py::test_instances_pickle_like_ctypes[c_double]':
        'pickling of C data is not implemented yet (C data issue)',
    'test_simple_types.py::test_instances_pickle_like_ctypes[c_int]':
        'pickling of C data is not implemented yet (C data issue)',
    'test_simple_types.py::test_invalid_type_codes_raise_like_ctypes[empty]':
        'some invalid _type_ codes raise a different exception type than ctypes',
    'test_simple_types.py::test_invalid_type_codes_raise_like_ctypes[two-chars]':
        'some invalid _type_ codes raise a different exception type than ctypes',
    'test_simple_types.py::test_lone_surrogates_are_read_like_ctypes':
        'lone surrogates in c_wchar/c_wchar_p are refused (Rust strings cannot hold them)',
    'test_simple_types.py::test_lone_surrogates_are_stored_like_ctypes[c_wchar]':
        'lone surrogates in c_wchar/c_wchar_p are refused (Rust strings cannot hold them)',
    'test_simple_types.py::test_lone_surrogates_are_stored_like_ctypes[c_wchar_p]':
        'lone surrogates in c_wchar/c_wchar_p are refused (Rust strings cannot hold them)',
    'test_simple_types.py::test_long_double_bit_patterns_read_like_the_fpu[pseudo-infinity]':
        'invalid x87 encodings (unnormals, pseudo-infinities) do not read as NaN',
    'test_simple_types.py::test_long_double_bit_patterns_read_like_the_fpu[unnormal-zero-mantissa]':
        'invalid x87 encodings (unnormals, pseudo-infinities) do not read as NaN',
    'test_simple_types.py::test_long_double_bit_patterns_read_like_the_fpu[unnormal]':
        'invalid x87 encodings (unnormals, pseudo-infinities) do not read as NaN',
    'test_simple_types.py::test_subclass_repr_matches_ctypes[c_char_p]':
        'subclasses of c_char_p/c_wchar_p repr as <X object> instead of X(...)',
    'test_simple_types.py::test_subclass_repr_matches_ctypes[c_wchar_p]':
        'subclasses of c_char_p/c_wchar_p repr as <X object> instead of X(...)',
}
