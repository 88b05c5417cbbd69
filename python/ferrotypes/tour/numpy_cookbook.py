"""NumPy arrays and C: from the SciPy Cookbook's "ctypes" page.

numpy and ctypes together: ``load_library``, ``arr.ctypes``, ``ndpointer`` argtypes,
C code that asks a Python callback for numpy memory, ``float**`` from a 2-D array,
record arrays matching a C struct, and the Fibonacci example.  ``numpy.ctypeslib``
is ``ferrotypes.numpy`` here; the cookbook's ``N.ctypeslib.f(...)`` reads
``ctypeslib.f(...)``.  C sources: ``c/foo.c``, ``c/ndargs.c``, ``c/callback.c``,
``c/allocator.c``, ``c/codefrags.c``, ``c/sample.c``, ``c/fibonacci.c``.

Two examples at the end bind the cookbook's libraries from their own C sources
(``ferrotypes.cdef``, ``ferrotypes.include``) instead of ``ndpointer`` argtypes: numpy
arrays pass where C declares a pointer when their layout is the pointed-to type's.

The cookbook is Python 2 and Windows; ``print x`` is ``print(x)``, ``cdll['callback.dll']``
is ``cdll['./libcallback.so']``.
"""

from ferrotypes import *  # the cookbook's "from ctypes import *"

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


@example("numpy", "Getting started: foo.py passes x.ctypes.data_as(POINTER(c_double)) to bar()",
         requires=["pointers", "numpy", "compiler"], library=("libfoo", ["foo.c"]))
def foo_py() -> None:
    import numpy as N
    import ferrotypes as C
    import ferrotypes.numpy as ctypeslib  # N.ctypeslib
    _foo = ctypeslib.load_library('libfoo', '.')
    _foo.bar.restype = C.c_int
    _foo.bar.argtypes = [C.POINTER(C.c_double), C.c_int]
    def bar(x):
        return _foo.bar(x.ctypes.data_as(C.POINTER(C.c_double)), len(x))
    x = N.random.randn(10)
    with captured_output() as out:
        n = bar(x)
    expect(n, 11)

    lines = expect_lines(out, [r"data = (\S+)"] + [rf"data\[{i}\] = (\S+)" for i in range(10)] + ["len = 10"])
    check(int(lines[0][1], 16) == x.ctypes.data,
          f"C saw the data at {lines[0][1]}, but the array is at {x.ctypes.data:#x}")
    printed = [line[1] for line in lines[1:11]]
    check(printed == [f"{v:f}" for v in x], f"C printed {printed}, the array holds {list(x)}")


@example("numpy", "NumPy arrays' ctypes property: data, data_as, shape, strides",
         requires=["pointers", "numpy"])
def ctypes_property() -> None:
    import numpy as N
    import ferrotypes as ctypes
    x = N.random.randn(2,3,4)
    print(x.ctypes.data)
    p = x.ctypes.data_as(ctypes.POINTER(c_double))  # type: ignore[type-var]
    print(p)
    check(p[0] == x[0, 0, 0] and p[23] == x[1, 2, 3], "data_as() does not point at the array's data")
    print(x.ctypes.shape)
    expect(x.ctypes.shape[:3], [2, 3, 4])
    print(x.ctypes.strides)
    expect(x.ctypes.strides[:3], [96, 32, 8])


@example("numpy", "ndpointer in argtypes: dtype, ndim, shape and flags are checked before the call",
         requires=["numpy", "compiler"], library=("libndargs", ["ndargs.c"]))
def ndpointer_argtypes() -> None:
    import numpy as N
    from ferrotypes.numpy import ndpointer
    func = cdll.LoadLibrary('./libndargs.so').func
    func.restype = c_double

    arg1 = ndpointer(dtype='<f4')
    arg2 = ndpointer(ndim=2)
    arg3 = ndpointer(shape=(10,10))
    arg4 = ndpointer(flags='CONTIGUOUS,ALIGNED')
    # or any combination of the above
    arg5 = ndpointer(dtype='>i4', flags='CONTIGUOUS')
    func.argtypes = [arg1,arg2,arg3,arg4,arg5]

    good = [N.array([1.5], dtype='<f4'), N.full((2, 2), 2.0), N.full((10, 10), 3.0),
            N.array([4.0, 0.0]), N.array([5], dtype='>i4')]
    expect(func(*good), 15.5)

    # "if an argument doesn't meet the requirements, a TypeError is raised" (ctypes
    # reports it as an ArgumentError naming the argument and the TypeError)
    bad = [N.array([1.5]),                 # float64, not '<f4'
           N.full(4, 2.0),                 # 1 dimension, not 2
           N.full((5, 5), 3.0),            # shape (5, 5), not (10, 10)
           N.array([4.0, 0.0, 0.0])[::2],  # not contiguous
           N.array([5], dtype='<i4')]      # little-endian
    for position, wrong in enumerate(bad, 1):
        args = list(good)
        args[position - 1] = wrong
        with expect_raises(ArgumentError, prefix=f"argument {position}: TypeError: "):
            func(*args)


@example("numpy", "Dynamic allocation through callbacks: the ALLOCATOR prototype (lib.baz)",
         requires=["callbacks", "pointers", "numpy", "compiler"], library=("libcallback", ["callback.c"]))
def allocator_prototype() -> None:
    import numpy as N
    ALLOCATOR = CFUNCTYPE(c_long, c_int, POINTER(c_int))
    # load your library as lib
    lib = cdll['./libcallback.so']
    lib.baz.restype = None
    lib.baz.argtypes = [c_float, c_int, ALLOCATOR]

    # c/callback.c's baz(value, n, allocator) asks for n floats and sets them to value.
    arrays = []
    def allocate(dim, shape):
        x = N.zeros(shape[:dim], 'f4')
        arrays.append(x)
        return x.ctypes.data_as(c_void_p).value  # type: ignore[type-var]
    lib.baz(2.5, 4, ALLOCATOR(allocate))
    print(arrays[0])
    expect(arrays[0].tolist(), [2.5, 2.5, 2.5, 2.5])


@example("numpy", "Dynamic allocation through callbacks: C's foo() gets a numpy array from allocate()",
         requires=["callbacks", "pointers", "numpy", "compiler"], library=("libcallback", ["callback.c"]))
def allocator_callback() -> None:
    import numpy as N

    allocated_arrays = []
    def allocate(dim, shape):
        print('allocate called')
        x = N.zeros(shape[:dim], 'f4')
        allocated_arrays.append(x)
        ptr = x.ctypes.data_as(c_void_p).value  # type: ignore[type-var]
        print(hex(ptr))  # type: ignore[arg-type]  # never NULL: numpy allocated it
        print('allocate returning')
        return ptr

    lib = cdll['./libcallback.so']
    lib.foo.restype = None
    ALLOCATOR = CFUNCTYPE(c_long, c_int, POINTER(c_int))
    lib.foo.argtypes = [ALLOCATOR]

    with captured_output() as out:
        print('calling foo')
        lib.foo(ALLOCATOR(allocate))
        print('foo returned')

    print(allocated_arrays[0])

    lines = expect_lines(out, ["calling foo", "foo calling allocator", "allocate called",
                               r"(0x[0-9a-f]+)", "allocate returning", "allocator returned in foo",
                               r"data = (\S+)", "foo returned"])
    check(int(lines[3][1], 16) == int(lines[6][1], 16),
          f"allocate() returned {lines[3][1]} but C's foo() got {lines[6][1]}")
    expect(allocated_arrays[0].tolist(), [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])


@example("numpy", "The allocator prototypes the cookbook found troublesome, on today's ctypes",
         requires=["callbacks", "pointers", "numpy", "compiler"], library=("libcallback", ["callback.c"]))
def allocator_variants() -> None:
    # The cookbook: "Eventually, we'd like to write the allocator like this (but it doesn't
    # work yet)", and "The following also seems to cause problems" -- a SystemError, a
    # crash or a hang.  ctypes now runs three of the four and refuses POINTER(c_float) as a
    # callback's result type with a TypeError; it must never crash.
    import numpy as N
    from ferrotypes.numpy import ndpointer
    lib = cdll['./libcallback.so']
    lib.foo.restype = None
    lib.foo_out.restype = None
    expected = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]

    def run(ALLOCATOR, allocate, c_function):
        allocated_arrays.clear()
        c_function.argtypes = [ALLOCATOR]
        c_function(ALLOCATOR(allocate))
        expect(allocated_arrays[0].tolist(), expected)

    allocated_arrays = []
    def allocate(dim, shape):  # returns the address, as an int
        x = N.zeros(shape[:dim], 'f4')
        allocated_arrays.append(x)
        return x.ctypes.data_as(c_void_p).value  # type: ignore[type-var]

    ALLOCATOR = CFUNCTYPE(ndpointer('f4'), c_int, POINTER(c_int))
    run(ALLOCATOR, allocate, lib.foo)

    ALLOCATOR = CFUNCTYPE(c_void_p, c_int, POINTER(c_int))
    run(ALLOCATOR, allocate, lib.foo)

    def allocate_out(dim, shape, out):  # stores the address through a void**
        out[0] = allocate(dim, shape)
    ALLOCATOR = CFUNCTYPE(None, c_int, POINTER(c_int), POINTER(c_void_p))
    run(ALLOCATOR, allocate_out, lib.foo_out)

    def allocate_pointer(dim, shape):  # returns a POINTER(c_float)
        x = N.zeros(shape[:dim], 'f4')
        allocated_arrays.append(x)
        return x.ctypes.data_as(POINTER(c_float))  # type: ignore[type-var]
    ALLOCATOR = CFUNCTYPE(POINTER(c_float), c_int, POINTER(c_int))
    try:
        callback = ALLOCATOR(allocate_pointer)
    except TypeError as exc:
        print(f"TypeError: {exc}")  # what ctypes does
    else:  # a pointer result type is supported: then it must work
        allocated_arrays.clear()
        lib.foo.argtypes = [ALLOCATOR]
        lib.foo(callback)
        expect(allocated_arrays[0].tolist(), expected)


@example("numpy", "The allocator the cookbook wished for: a POINTER(c_float) result, kept alive (keep_results)",
         requires=["callbacks", "pointers", "numpy", "compiler"], library=("libcallback", ["callback.c"]))
def allocator_keep_results() -> None:
    # ctypes refuses a pointer result type for a callback: what it points at could die
    # when the callback returns. With keep_results=True the callback object keeps every
    # array it returns alive, so the allocator may return the array itself.
    import numpy as N
    import ferrotypes
    lib = cdll['./libcallback.so']
    lib.foo.restype = None
    ALLOCATOR = CFUNCTYPE(POINTER(c_float), c_int, POINTER(c_int), keep_results=True)
    lib.foo.argtypes = [ALLOCATOR]

    allocated = []
    def allocate(dim, shape):
        x = N.zeros(shape[:dim], 'f4')
        allocated.append(x)
        return x  # converted to its address; the callback keeps x
    callback = ALLOCATOR(allocate)
    lib.foo(callback)
    print(allocated[0])
    expect(allocated[0].tolist(), [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])
    ferrotypes.release(callback)  # lets the arrays it returned go

@example("numpy", "An Allocator class: one callback for arrays of several types (CFUNCTYPE with c_char)",
         requires=["callbacks", "pointers", "numpy", "compiler"], library=("liballocator", ["allocator.c"]))
def allocator_class() -> None:
    import numpy as N

    class Allocator:
        CFUNCTYPE = CFUNCTYPE(c_long, c_int, POINTER(c_int), c_char)

        def __init__(self):
            self.allocated_arrays = []

        def __call__(self, dims, shape, dtype):
            x = N.empty(shape[:dims], N.dtype(dtype))
            self.allocated_arrays.append(x)
            return x.ctypes.data_as(c_void_p).value  # type: ignore[type-var]

        def getcfunc(self):
            return self.CFUNCTYPE(self)
        cfunc = property(getcfunc)

    lib = cdll['./liballocator.so']
    # The cookbook's "..." before the allocator is, in c/allocator.c, a start value.
    lib.func.argtypes = [c_double, Allocator.CFUNCTYPE]
    lib.func.restype = None
    def func():
        alloc = Allocator()
        lib.func(0.5, alloc.cfunc)
        return tuple(alloc.allocated_arrays[:3])

    doubles, ints, floats = func()
    for array in (doubles, ints, floats):
        print(array.dtype, array.shape)
    expect(doubles.tolist(), (0.5 + N.arange(24.0)).reshape(2, 3, 4).tolist())
    expect(ints.tolist(), [0, 1, 4, 9, 16])
    expect(floats.tolist(), [[0.0, 0.5], [1.0, 1.5]])


@example("numpy", "More useful code frags: float** built from a 2-D array's rows",
         requires=["arrays", "pointers", "numpy", "compiler"], library=("libcodefrags", ["codefrags.c"]))
def float_pointer_pointer() -> None:
    import numpy as N
    x = N.array([[10,20,30], [40,50,60], [80,90,100]], 'f4')
    f4ptr = POINTER(c_float)
    data = (f4ptr*len(x))(*[row.ctypes.data_as(f4ptr) for row in x])

    # c/codefrags.c's foo(float** data, int len) prints each row's first element.
    lib = cdll.LoadLibrary('./libcodefrags.so')
    lib.foo.restype = None
    lib.foo.argtypes = [POINTER(f4ptr), c_int]
    with captured_output() as out:
        lib.foo(data, len(x))
    expect_output(out, "row 0 starts with 10\nrow 1 starts with 40\nrow 2 starts with 80\n")


@example("numpy", "Heterogeneous types: a record array matching a C struct (print_weather)",
         requires=["numpy", "compiler"], library=("libsample", ["sample.c"]))
def record_arrays() -> None:
    # sample.py
    import numpy as N
    import ferrotypes as C
    import ferrotypes.numpy as ctypeslib  # N.ctypeslib

    # The cookbook's records are lists; NumPy now wants tuples (lists are deprecated).
    dat = [(1126877361,'sunny'), (1126877371,'rain'), (1126877385,'damn nasty'), (1126877387,'sunny')]

    dat_dtype = N.dtype([('timestamp','i4'),('desc','|S12')])
    arr = N.rec.fromrecords(dat,dtype=dat_dtype)

    _sample = ctypeslib.load_library('libsample','.')
    _sample.print_weather.restype = None
    _sample.print_weather.argtypes = [ctypeslib.ndpointer(dat_dtype, flags='aligned, contiguous'), C.c_int]


    def print_weather(x):
        _sample.print_weather(x, x.size)

    with captured_output() as out:
        print_weather(arr)
    expect_output(out, "".join(f"timestamp: {t}\ndescription: {d}\n\n" for t, d in dat))


@example("numpy", "Fibonacci: fib, fibseries and fibmatrix over ndpointer arrays",
         requires=["numpy", "compiler"], library=("libfibonacci", ["fibonacci.c"]))
def fibonacci() -> None:
    """
    Filename: fibonacci.py
    Demonstrates the use of ctypes with three functions:

        (1) fib(a)
        (2) fibseries(b)
        (3) fibmatrix(c)
    """

    import numpy as nm
    import ferrotypes as ct
    import ferrotypes.numpy as ctypeslib  # nm.ctypeslib

    # Load the library as _libfibonacci.
    # Why the underscore (_) in front of _libfibonacci below?
    # To mimimise namespace pollution -- see PEP 8 (www.python.org).
    _libfibonacci = ctypeslib.load_library('libfibonacci', '.')

    # The cookbook's ndpointer(dtype = nm.int) meant a C long, which is the C int its
    # functions take only where long is 32 bits (it was tested on Windows and 32-bit
    # Linux); nm.int is gone from NumPy, and the arrays below are nm.intc.
    _libfibonacci.fib.argtypes = [ct.c_int] #  Declare arg type, same below.
    _libfibonacci.fib.restype  =  ct.c_int  #  Declare result type, same below.

    _libfibonacci.fibseries.argtypes = [ctypeslib.ndpointer(dtype = nm.intc),\
                                         ct.c_int,\
                                         ctypeslib.ndpointer(dtype = nm.intc)]
    _libfibonacci.fibseries.restype  = ct.c_void_p

    _libfibonacci.fibmatrix.argtypes = [ctypeslib.ndpointer(dtype = nm.intc),\
                                         ct.c_int, ct.c_int,\
                                        ctypeslib.ndpointer(dtype = nm.intc)]
    _libfibonacci.fibmatrix.restype  = ct.c_void_p

    def fib(a):
        """Compute the n'th Fibonacci number.

        ARGUMENT(S):
            An integer.

        RESULT(S):
            The n'th Fibonacci number.

        EXAMPLE(S):
        >>> fib(8)
        13
        >>> fib(23)
        17711
        >>> fib(0)
        -1
        """
        return _libfibonacci.fib(int(a))

    def fibseries(b):
        """Compute an array containing the n'th Fibonacci number of each entry.

        ARGUMENT(S):
            A list or NumPy array (dim = 1) of integers.

        RESULT(S):
            NumPy array containing the n'th Fibonacci number of each entry.

        EXAMPLE(S):
        >>> fibseries([1,2,3,4,5,6,7,8])
        array([ 0,  1,  1,  2,  3,  5,  8, 13])
        >>> fibseries(range(1,12))
        array([ 0,  1,  1,  2,  3,  5,  8, 13, 21, 34, 55])
        """
        b = nm.asarray(b, dtype=nm.intc)
        result = nm.empty(len(b), dtype=nm.intc)
        _libfibonacci.fibseries(b, len(b), result)
        return result

    def fibmatrix(c):
        """Compute a matrix containing the n'th Fibonacci number of each entry.

        ARGUMENT(S):
            A nested list or NumPy array (dim = 2) of integers.

        RESULT(S):
            NumPy array containing the n'th Fibonacci number of each entry.

        EXAMPLE(S):
        >>> from numpy import array
        >>> fibmatrix([[3,4],[5,6]])
        array([[1, 2],
               [3, 5]])
        >>> fibmatrix(array([[1,2,3],[4,5,6],[7,8,9]]))
        array([[ 0,  1,  1],
               [ 2,  3,  5],
               [ 8, 13, 21]])
        """
        tmp = nm.asarray(c)
        rows, cols = tmp.shape
        c = tmp.astype(nm.intc)
        result = nm.empty(c.shape, dtype=nm.intc)
        _libfibonacci.fibmatrix(c, rows, cols, result)
        return result

    # The docstrings' examples (today's NumPy adds ", dtype=int32" to these reprs, so
    # the values are compared), then the session at the end of the cookbook.
    expect(fib(8), 13)
    expect(fib(23), 17711)
    expect(fib(0), -1)
    expect(fibseries([1,2,3,4,5,6,7,8]).tolist(), [0, 1, 1, 2, 3, 5, 8, 13])
    expect(fibseries(range(1,12)).tolist(), [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55])
    expect(fibmatrix([[3,4],[5,6]]).tolist(), [[1, 2], [3, 5]])
    expect(fibmatrix(nm.array([[1,2,3],[4,5,6],[7,8,9]])).tolist(), [[0, 1, 1], [2, 3, 5], [8, 13, 21]])
    expect(fibseries([5,13,2,6]).tolist(), [3, 144, 1, 5])


@example("numpy", "Declared in C: print_weather takes the record array as sample.c declares Weather (include)",
         requires=["numpy", "compiler"], library=("libsample", ["sample.c"]))
def record_arrays_declared_in_c() -> None:
    import numpy as N
    import ferrotypes as C
    _sample = C.include(c_source("sample.c"), lib=C.CDLL('./libsample.so'))

    dat = [(1126877361,'sunny'), (1126877371,'rain'), (1126877385,'damn nasty'), (1126877387,'sunny')]
    arr = N.rec.fromrecords(dat,dtype=N.dtype([('timestamp','i4'),('desc','|S12')]))
    # void print_weather(Weather *w, int nelems): the array's records are Weather's layout.
    with captured_output() as out:
        _sample.print_weather(arr, arr.size)
    expect_output(out, "".join(f"timestamp: {t}\ndescription: {d}\n\n" for t, d in dat))

    # A record array of another layout is refused before C reads it.
    wrong = N.rec.fromrecords(dat, dtype=N.dtype([('timestamp','i8'),('desc','|S12')]))
    with expect_raises(C.ArgumentError, prefix="argument 1: TypeError: buffer of format "):
        _sample.print_weather(wrong, wrong.size)


@example("numpy", "Declared in C: fibonacci.c read with cdef, numpy int arrays passed for int *",
         requires=["numpy", "compiler"], library=("libfibonacci", ["fibonacci.c"]))
def fibonacci_declared_in_c() -> None:
    import numpy as nm
    import ferrotypes as ct
    # fibonacci.c declares fib, fibseries and fibmatrix at its top; cdef reads them
    # (and skips the bodies): no argtypes, no restype, no ndpointer.
    with open(c_source("fibonacci.c")) as source:
        _libfibonacci = ct.cdef(source.read(), lib=ct.CDLL('./libfibonacci.so'))

    def fibseries(b):
        b = nm.asarray(b, dtype=nm.intc)
        result = nm.empty(len(b), dtype=nm.intc)
        _libfibonacci.fibseries(b, len(b), result)
        return result

    def fibmatrix(c):
        c = nm.asarray(c, dtype=nm.intc)
        rows, cols = c.shape
        result = nm.empty(c.shape, dtype=nm.intc)
        _libfibonacci.fibmatrix(c, rows, cols, result)
        return result

    expect(_libfibonacci.fib(8), 13)
    expect(_libfibonacci.fib(23), 17711)
    expect(_libfibonacci.fib(0), -1)
    expect(fibseries([5,13,2,6]).tolist(), [3, 144, 1, 5])
    expect(fibmatrix([[1,2,3],[4,5,6],[7,8,9]]).tolist(), [[0, 1, 1], [2, 3, 5], [8, 13, 21]])
    # int * takes arrays of C int only: an int64 array is refused, not misread.
    with expect_raises(ct.ArgumentError, prefix="argument 1: TypeError: buffer of format "):
        _libfibonacci.fibseries(nm.arange(4, dtype=nm.int64), 4, nm.empty(4, dtype=nm.intc))
