"""Scalars, out-parameters and arrays: from the tutorial "Python and C interaction:
Part II - Ctypes".

libmymath (``c/add_two.c`` and ``c/arrays.c``; the tutorial includes them without
showing them): ints, floats without and with ``restype``/``argtypes``, ``byref``
out-parameters, ctypes arrays and numpy arrays.  The tutorial is a REPL transcript;
:func:`expect` prints each value as the REPL did and checks it.

The last example binds the same library from its own C sources with ``ferrotypes.cdef``:
argtypes and restype come from the C declarations, so floats need no ``c_float``, a
pointer parameter takes the array or the ``byref`` C expects, and the tutorial's slip
below (floats for ``int *``) is refused instead of computed.

Two slips of the tutorial's text are corrected where its shown output needs it: its
``c_float`` example and its array examples call ``add_int_ref``, but the output they
show comes from the float and array functions of the same library.
"""

import ferrotypes as C

from ferrotypes.tour._harness import c_source, example, expect, expect_raises, expect_repr

LIBMYMATH = ("libmymath", ["add_two.c", "arrays.c"])


@example("scalars", "Scalars: integers pass as they are (add_int)",
         requires=["compiler"], library=LIBMYMATH)
def integers() -> None:
    math = C.CDLL('./libmymath.so')
    expect(math.add_int(3, 4), 7)


@example("scalars", "Scalars: floats need c_float, restype and argtypes (add_float)",
         requires=["compiler"], library=LIBMYMATH)
def floats() -> None:
    math = C.CDLL('./libmymath.so')
    # Without argtypes 3 and 4 go as C ints, and without restype the float result is
    # read as an int: the number printed means nothing (the tutorial got 0).
    print(math.add_float(3, 4))

    with expect_raises(C.ArgumentError, "argument 1: TypeError: Don't know how to convert parameter 1"):
        math.add_float(3.0, 4.0)

    # Right arguments, but the result still read as an int (the tutorial got 2).
    print(math.add_float(C.c_float(3.0), C.c_float(4.0)))

    math.add_float.restype = C.c_float
    expect(math.add_float(C.c_float(3.0), C.c_float(4.0)), 7.0)

    math.add_float.restype = C.c_float
    math.add_float.argtypes = [C.c_float, C.c_float]
    expect(math.add_float(3, 4), 7.0)


@example("scalars", "By reference: byref out-parameters (add_int_ref)",
         requires=["compiler"], library=LIBMYMATH)
def by_reference() -> None:
    math = C.CDLL('./libmymath.so')
    three = C.c_int(3)
    four = C.c_int(4)
    res = C.c_int()
    expect(math.add_int_ref(C.byref(three),
                            C.byref(four),
                            C.byref(res)), 0)
    expect(res.value, 7)


@example("scalars", "By reference: c_float out-parameters and a wrapper function (add_float_ref)",
         requires=["compiler"], library=LIBMYMATH)
def by_reference_floats() -> None:
    math = C.CDLL('./libmymath.so')
    three = C.c_float(3)
    four = C.c_float(4)
    res = C.c_float()
    # The tutorial's text passes these to add_int_ref, which would add the floats' bit
    # patterns as ints; 7.0 comes from the float version.
    expect(math.add_float_ref(C.byref(three),
                              C.byref(four),
                              C.byref(res)), 0)
    expect(res.value, 7.0)

    def add_int_ref_python(a, b):
      a_c = C.c_float(a)
      b_c = C.c_float(b)
      res_c = C.c_float()
      math.add_float_ref(C.byref(a_c), C.byref(b_c), C.byref(res_c))
      return res_c.value  # the tutorial returns res.value, the global of the session

    expect(add_int_ref_python(3, 4), 7.0)
    expect(add_int_ref_python(1.5, 0.25), 1.75)


@example("scalars", "Arrays: (c_int * 3)(...) passed with byref (add_int_array)",
         requires=["arrays", "compiler"], library=LIBMYMATH)
def ctypes_arrays() -> None:
    math = C.CDLL('./libmymath.so')
    in1 = (C.c_int * 3) (1, 2, -5)
    in2 = (C.c_int * 3) (-1, 3, 3)
    out = (C.c_int * 3) (0, 0, 0)
    # The tutorial's text calls add_int_ref with these four arguments; the element-wise
    # sum it shows is the array function's.
    math.add_int_array(C.byref(in1),
                       C.byref(in2),
                       C.byref(out),
                       C.c_int(3))
    expect((out[0], out[1], out[2]), (0, 5, -2))


@example("scalars", "NumPy arrays: arr.ctypes.data_as(POINTER(c_int)), or c_void_p",
         requires=["pointers", "numpy", "compiler"], library=LIBMYMATH)
def numpy_arrays() -> None:
    math = C.CDLL('./libmymath.so')
    import numpy as np
    intp = C.POINTER(C.c_int)
    in1 = np.array([1, 2, -5], dtype=C.c_int)
    in2 = np.array([-1, 3, 3], dtype=C.c_int)
    out = np.zeros(3, dtype=C.c_int)
    math.add_int_array(in1.ctypes.data_as(intp),  # type: ignore[type-var]
                       in2.ctypes.data_as(intp),  # type: ignore[type-var]
                       out.ctypes.data_as(intp),  # type: ignore[type-var]
                       C.c_int(3))
    expect_repr(out, "array([ 0,  5, -2], dtype=int32)")

    # "we don't need to actually define the type as a pointer to integer, we can
    # directly use c_void_p"
    out = np.zeros(3, dtype=C.c_int)
    math.add_int_array(in1.ctypes.data_as(C.c_void_p),  # type: ignore[type-var]
                       in2.ctypes.data_as(C.c_void_p),  # type: ignore[type-var]
                       out.ctypes.data_as(C.c_void_p),  # type: ignore[type-var]
                       C.c_int(3))
    expect_repr(out, "array([ 0,  5, -2], dtype=int32)")


@example("scalars", "Declared in C: the library's own sources read with cdef, no restype or argtypes",
         requires=["arrays", "pointers", "compiler"], library=LIBMYMATH)
def declared_in_c() -> None:
    # The declarations of add_two.c and arrays.c, read from those files (cdef skips the
    # function bodies), bound to the library built from them.
    with open(c_source("add_two.c")) as f1, open(c_source("arrays.c")) as f2:
        math = C.cdef(f1.read() + f2.read(), lib=C.CDLL('./libmymath.so'))

    expect(math.add_int(3, 4), 7)
    expect(math.add_float(3, 4), 7.0)  # float add_float(float a, float b)

    three = C.c_int(3)
    four = C.c_int(4)
    res = C.c_int()
    expect(math.add_int_ref(C.byref(three), C.byref(four), C.byref(res)), 0)
    expect(res.value, 7)

    # The tutorial's slip: floats handed to int *. The declaration refuses them.
    with expect_raises(C.ArgumentError, prefix="argument 1: TypeError: expected LP_c_int instance"):
        math.add_int_ref(C.byref(C.c_float(3)), C.byref(C.c_float(4)), C.byref(C.c_float()))
    fres = C.c_float()
    expect(math.add_float_ref(C.byref(C.c_float(3)), C.byref(C.c_float(4)), C.byref(fres)), 0)
    expect(fres.value, 7.0)

    # int * parameters take the arrays themselves: C's array-to-pointer decay.
    in1 = (C.c_int * 3) (1, 2, -5)
    in2 = (C.c_int * 3) (-1, 3, 3)
    out = (C.c_int * 3) (0, 0, 0)
    expect(math.add_int_array(in1, in2, out, 3), None)
    expect((out[0], out[1], out[2]), (0, 5, -2))
    expect(math.dot_product(in1, in2, 3), -10)
