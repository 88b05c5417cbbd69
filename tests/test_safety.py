"""Bad input never crashes the interpreter: it raises an exception.

Each case runs in a child interpreter (``sys.executable -c ...``), so a
segmentation fault fails the one test instead of killing pytest.  The child
prints how its expression ended (``raised <Type>: <message>`` or
``returned <repr>``); the test asserts it exited normally and printed the
expected outcome.

Reading memory at an arbitrary non-NULL address cannot be checked (ctypes
cannot either); these cases are about what *can* be refused: NULL, values of
the wrong kind, impossible sizes, invalid configuration.
"""

import os
import subprocess
import sys
import textwrap

import pytest

# These tests free, reuse and call memory in ways that could crash the interpreter.
pytestmark = pytest.mark.isolated

PRELUDE = textwrap.dedent("""
    import os, sys
    import ferrotypes as ft
    lib = ft.CDLL(os.environ["FTTEST_LIBRARY"])

    def outcome(thunk):
        try:
            result = thunk()
        except BaseException as exc:  # PanicException is no Exception
            print("raised %s: %s" % (type(exc).__name__, exc), flush=True)
        else:
            print("returned %r" % (result,), flush=True)
""")


def run_isolated(fttest_path, code):
    """Runs ``code`` after PRELUDE in a child interpreter: (returncode, output)."""
    env = dict(os.environ, FTTEST_LIBRARY=fttest_path, RUST_BACKTRACE="0")
    child = subprocess.run([sys.executable, "-X", "faulthandler", "-c", PRELUDE + textwrap.dedent(code)],
                           capture_output=True, text=True, timeout=60, env=env)
    return child.returncode, child.stdout + child.stderr


def assert_outcome(fttest_path, code, expected):
    returncode, output = run_isolated(fttest_path, code)
    assert returncode == 0, f"the child crashed (exit status {returncode}):\n{output}"
    assert expected in output, output


def test_the_harness_sees_crashes(fttest_path):
    # A test of the test: a real crash is reported as one.
    returncode, _ = run_isolated(fttest_path, "import ctypes; ctypes.string_at(0)")
    assert returncode != 0


# --------------------------------------------------------------------------
# NULL
# --------------------------------------------------------------------------

@pytest.mark.parametrize("code", [
    "outcome(lambda: ft.CFUNCTYPE(ft.c_int)()())",
    "outcome(lambda: ft.CFUNCTYPE(ft.c_int, ft.c_int)(0)(1))",
    "outcome(lambda: ft.CFUNCTYPE(None, ft.c_double)(0)(1.5))",
    "outcome(lambda: ft.PYFUNCTYPE(ft.py_object)(0)())",
    "f = ft.CFUNCTYPE(ft.c_int)(); f.errcheck = lambda *a: 1; outcome(f)",
], ids=["no-address", "zero", "void", "pyfunctype", "with-errcheck"])
def test_calling_a_null_function_pointer_raises_value_error(fttest_path, code):
    assert_outcome(fttest_path, code, "raised ValueError: NULL function pointer")


def test_null_function_pointer_is_false(fttest_path):
    assert_outcome(fttest_path, "outcome(lambda: bool(ft.CFUNCTYPE(ft.c_int)(0)))", "returned False")


@pytest.mark.parametrize("expression", [
    "ft.string_at(0)",
    "ft.string_at(0, 10)",
    "ft.string_at(None)",
    "ft.string_at(ft.c_void_p())",
    "ft.string_at(ft.c_char_p())",
    "ft.wstring_at(0)",
    "ft.wstring_at(None, 3)",
])
def test_reading_null_raises_value_error(fttest_path, expression):
    assert_outcome(fttest_path, f"outcome(lambda: {expression})", "raised ValueError")


@pytest.mark.parametrize("type_name", ["c_int", "c_double", "c_char_p", "c_wchar_p", "py_object", "c_char"])
def test_from_address_zero_raises_value_error(fttest_path, type_name):
    assert_outcome(fttest_path, f"outcome(lambda: ft.{type_name}.from_address(0).value)", "raised ValueError")


def test_from_address_zero_of_a_prototype(fttest_path):
    code = "outcome(lambda: ft.CFUNCTYPE(ft.c_int).from_address(0)())"
    assert_outcome(fttest_path, code, "raised ValueError")


def test_null_py_object_result_raises_value_error(fttest_path):
    # ctypes itself crashes on this one.
    code = """
        f = lib["ft_id_voidp"]
        f.restype = ft.py_object
        outcome(lambda: f(None))
    """
    assert_outcome(fttest_path, code, "raised ValueError: PyObject is NULL")


def test_null_py_object_value_raises_value_error(fttest_path):
    # The NULL pointer is kept alive: from_address reads it after the statement.
    code = """
        null = ft.c_void_p()
        outcome(lambda: ft.py_object.from_address(ft.addressof(null)).value)
    """
    assert_outcome(fttest_path, code, "raised ValueError: PyObject is NULL")


# --------------------------------------------------------------------------
# Invalid configuration of a function
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["5", "'c_int'", "object()", "ft.c_int(1)"])
def test_wrong_restype_raises_type_error(fttest_path, value):
    code = f"""
        f = lib["ft_f0"]
        outcome(lambda: setattr(f, "restype", {value}))
        outcome(f)
    """
    assert_outcome(fttest_path, code, "raised TypeError")
    assert_outcome(fttest_path, code, "returned 42")  # still callable, old restype


@pytest.mark.parametrize("value", ["[int]", "[ft.c_int, 5]", "[None]", "5", "[ft.c_int(1)]"])
def test_argtypes_without_from_param_raise_type_error(fttest_path, value):
    code = f"""
        f = lib["ft_add_int"]
        outcome(lambda: setattr(f, "argtypes", {value}))
        outcome(lambda: f(1, 2))
    """
    assert_outcome(fttest_path, code, "raised TypeError")
    assert_outcome(fttest_path, code, "returned 3")


@pytest.mark.parametrize("value", ["5", "'errcheck'", "ft.c_int(1)"])
def test_non_callable_errcheck_raises_type_error(fttest_path, value):
    code = f"""
        f = lib["ft_f0"]
        outcome(lambda: setattr(f, "errcheck", {value}))
        outcome(f)
    """
    assert_outcome(fttest_path, code, "raised TypeError")
    assert_outcome(fttest_path, code, "returned 42")


# --------------------------------------------------------------------------
# Values of the wrong kind
# --------------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "ft.string_at(ft.c_int(5))",
    "ft.string_at(ft.c_double(1.0))",
    "ft.wstring_at(ft.c_long(8))",
])
def test_numbers_are_not_addresses_for_string_at(fttest_path, expression):
    # ctypes: ArgumentError (string_at's parameter is a c_void_p).
    assert_outcome(fttest_path, f"outcome(lambda: {expression})", "raised ArgumentError")


def test_from_address_beyond_the_address_space_raises_overflow_error(fttest_path):
    # ctypes refuses addresses that do not fit a pointer instead of wrapping them.
    assert_outcome(fttest_path, "outcome(lambda: ft.c_int.from_address(2**64 + 8).value)",
                   "raised OverflowError")


def test_string_at_size_is_a_c_int_as_in_ctypes(fttest_path):
    # ctypes declares string_at's size a C int: 2**40 is 0 bytes, 2**32 + 2 is 2, and
    # nothing is read past the 4 bytes of b"abc" (a size_t would read 2**40 bytes).
    code = """
        import ctypes
        for size in (2**40, 2**32 + 2, 2**64, -1, 3):
            outcome(lambda: (ft.string_at(b"abc", size), ctypes.string_at(b"abc", size)))
        outcome(lambda: ft.string_at(b"abc", -2))
        outcome(lambda: ft.wstring_at("abc", 2**32 + 2))
    """
    lines = ["returned (b'', b'')", "returned (b'ab', b'ab')", "returned (b'', b'')",
             "returned (b'abc', b'abc')", "returned (b'abc', b'abc')",
             "raised SystemError", "returned 'ab'"]
    returncode, output = run_isolated(fttest_path, code)
    assert returncode == 0, output
    assert [line[:len(want)] for line, want in zip(output.splitlines(), lines)] == lines, output


def test_endless_as_parameter_chain_raises_recursion_error(fttest_path):
    # Each _as_parameter_ is a new object with an _as_parameter_ (ctypes crashes).
    code = """
        class Endless:
            @property
            def _as_parameter_(self):
                return Endless()

        outcome(lambda: lib["ft_id_int"](Endless()))
        f = lib["ft_id_int"]
        f.argtypes = [ft.c_int]
        outcome(lambda: f(Endless()))
    """
    returncode, output = run_isolated(fttest_path, code)
    assert returncode == 0, f"the child crashed (exit status {returncode}):\n{output}"
    assert output.count("RecursionError") == 2, output


def test_byref_of_non_ctypes_raises_type_error(fttest_path):
    assert_outcome(fttest_path, "outcome(lambda: ft.byref(5))", "raised TypeError")


def test_resize_below_the_type_size_raises_value_error(fttest_path):
    assert_outcome(fttest_path, "outcome(lambda: ft.resize(ft.c_int(), 1))", "raised ValueError")
    assert_outcome(fttest_path, "outcome(lambda: ft.resize(ft.c_int(), -1))", "raised ValueError")


def test_resize_of_a_view_raises_value_error(fttest_path):
    code = """
        owner = ft.c_int(5)
        view = ft.c_int.from_address(ft.addressof(owner))
        outcome(lambda: ft.resize(view, 64))
    """
    assert_outcome(fttest_path, code, "raised ValueError")


# --------------------------------------------------------------------------
# Re-entrancy: Python code run during a call changes the function
# --------------------------------------------------------------------------

def test_from_param_may_change_argtypes_during_the_call(fttest_path):
    code = """
        f = lib["ft_add_int"]

        class Meddling:
            @classmethod
            def from_param(cls, value):
                f.argtypes = None  # frees the signature the call is using
                return value

        f.argtypes = [Meddling, ft.c_int]
        outcome(lambda: f(40, 2))
        outcome(lambda: f(1, 2))
    """
    returncode, output = run_isolated(fttest_path, code)
    assert returncode == 0, output
    assert output.splitlines() == ["returned 42", "returned 3"], output


def test_restype_callable_may_change_restype_during_conversion(fttest_path):
    code = """
        f = lib["ft_id_int"]

        def convert(value):
            f.restype = None
            return value * 2

        f.restype = convert
        outcome(lambda: f(21))
        outcome(lambda: f(21))
    """
    returncode, output = run_isolated(fttest_path, code)
    assert returncode == 0, output
    assert output.splitlines() == ["returned 42", "returned None"], output


def test_errcheck_may_delete_the_library(fttest_path):
    code = """
        import gc
        f = lib["ft_add_int"]
        f.errcheck = lambda result, func, args: result
        del lib
        gc.collect()
        outcome(lambda: f(2, 3))
    """
    assert_outcome(fttest_path, code, "returned 5")
