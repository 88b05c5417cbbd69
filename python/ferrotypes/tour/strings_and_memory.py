"""Strings and C-allocated memory: from an article on Python's ``ctypes`` module whose code
is at github.com/jima80525/ctypes_example -- loading, strings, memory.

clib1 (``c/clib1.c``): loading a library by path, a C counter, why C cannot change a
Python ``str`` and can change a ``create_string_buffer``, and a string allocated in C,
read through ``POINTER(c_char)`` and ``c_char_p.from_buffer``, and freed by C again.

The last example binds clib1 from its own source with ``ferrotypes.include`` (the C
compiler's preprocessor reads its ``#include`` lines): ``char *`` parameters refuse a
``str`` instead of passing C a copy, and the ``char *`` result is a ``POINTER(c_char)``
without a restype, the memory C allocated, ready to be freed.
"""

import os

import ferrotypes as ctypes

from ferrotypes.tour._harness import (
    c_source,
    captured_output,
    check,
    example,
    expect,
    expect_lines,
    expect_output,
    expect_raises,
)

CLIB1 = ("libclib1", ["clib1.c"])


@example("strings", "Loading a C library by path and calling a function with no parameters",
         requires=["compiler"], library=CLIB1)
def loading_and_calling() -> None:
    # Load the shared library into c types.
    libc = ctypes.CDLL("./libclib1.so")

    # The tutorial's script finds the library next to itself, with
    # os.path.dirname(__file__); the tour runs in the library's directory.
    here = os.getcwd()
    libname = os.path.abspath(
        os.path.join(here, "libclib1.so"))

    libc = ctypes.CDLL(libname)

    # Call the C function from the library
    counter = libc.simple_function()
    print(counter)
    # "returns counting numbers": each call returns the next one
    expect(libc.simple_function(), counter + 1)
    expect(libc.simple_function(), counter + 2)


@example("strings", "An immutable str: C cannot change the Python string",
         requires=["compiler"], library=CLIB1)
def immutable_string() -> None:
    libc = ctypes.CDLL("./libclib1.so")
    with captured_output() as out:
        print("Calling C function which tries to modify Python string")
        original_string = "starting string"
        print("Before:", original_string)

        # This call does not change value, even though it tries!
        libc.add_one_to_string(original_string)

        print("After: ", original_string)
    expect_output(out, "Calling C function which tries to modify Python string\n"
                       "Before: starting string\n"
                       "After:  starting string\n")


@example("strings", "A mutable buffer: create_string_buffer lets C change the bytes",
         requires=["arrays", "compiler"], library=CLIB1)
def mutable_buffer() -> None:
    libc = ctypes.CDLL("./libclib1.so")
    original_string = "starting string"
    with captured_output() as out:
        # The ctypes string buffer IS mutable, however.
        print("Calling C function with mutable buffer this time")

        # Need to encode the original to get bytes for string_buffer
        mutable_string = ctypes.create_string_buffer(str.encode(original_string))

        print("Before:", mutable_string.value)
        libc.add_one_to_string(mutable_string)  # Works!
        print("After: ", mutable_string.value)
    expect_output(out, "Calling C function with mutable buffer this time\n"
                       "Before: b'starting string'\n"
                       "After:  b'tubsujoh!tusjoh'\n")


@example("strings", "Memory allocated in C: restype POINTER(c_char), c_char_p.from_buffer, freed by C",
         requires=["pointers", "compiler"], library=CLIB1)
def memory_allocated_in_c() -> None:
    libc = ctypes.CDLL("./libclib1.so")
    with captured_output() as out:
        alloc_func = libc.alloc_C_string

        # This is a ctypes.POINTER object which holds the address of the data
        alloc_func.restype = ctypes.POINTER(ctypes.c_char)

        print("Allocating and freeing memory in C")
        c_string_address = alloc_func()

        # Wow we have the POINTER object.
        # We should convert that to something we can use
        # on the Python side
        phrase = ctypes.c_char_p.from_buffer(c_string_address)

        print("Bytes in Python {0}".format(phrase.value))  # type: ignore[str-bytes-safe]  # the article's output

        free_func = libc.free_C_string
        free_func.argtypes = [ctypes.POINTER(ctypes.c_char), ]
        free_func(c_string_address)

    _, allocated, _, freed = expect_lines(out, [
        "Allocating and freeing memory in C",
        r"C just allocated (\S+)\((-?\d+)\):  I was written in C",
        r"Bytes in Python b'I was written in C'",
        r"About to free (\S+)\((-?\d+)\):  I was written in C",
    ])
    check(int(allocated[1], 16) == int(allocated[2]) == int(freed[1], 16) == int(freed[2]),
          f"C freed {freed[1]}, not the string it allocated at {allocated[1]}")


@example("strings", "Declared in C: clib1.c read with include, a str refused, the char * result freed by C",
         requires=["arrays", "pointers", "compiler"], library=CLIB1)
def declared_in_c() -> None:
    clib = ctypes.include(c_source("clib1.c"), lib=ctypes.CDLL("./libclib1.so"))

    counter = clib.simple_function()  # int simple_function(void)
    expect(clib.simple_function(), counter + 1)
    expect(clib.simple_function.argtypes, [])

    # void add_one_to_string(char *input): a str is no char *, so it is refused rather
    # than converted to a wchar_t copy that C would change unseen. (The message is the
    # running Python's ctypes': 3.13 words it differently.)
    with expect_raises(ctypes.ArgumentError, prefix="argument 1: TypeError: "):
        clib.add_one_to_string("starting string")
    mutable_string = ctypes.create_string_buffer(b"starting string")
    clib.add_one_to_string(mutable_string)
    expect(mutable_string.value, b"tubsujoh!tusjoh")

    # char *alloc_C_string(void): a pointer to C's memory, as the article's restype made it.
    with captured_output() as out:
        c_string_address = clib.alloc_C_string()
        print(type(c_string_address).__name__, ctypes.string_at(c_string_address))
        clib.free_C_string(c_string_address)
    allocated, _, freed = expect_lines(out, [
        r"C just allocated (\S+)\((-?\d+)\):  I was written in C",
        r"LP_c_char b'I was written in C'",
        r"About to free (\S+)\((-?\d+)\):  I was written in C",
    ])
    address = ctypes.cast(c_string_address, ctypes.c_void_p).value
    check(address == int(allocated[2]) == int(freed[2]),
          f"the result points at {address}; C allocated {allocated[2]} and freed {freed[2]}")
