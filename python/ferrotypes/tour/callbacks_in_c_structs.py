"""Callbacks stored in a C struct: from the blog post "Using Ctypes to Call a C Function
That Calls Back a Python Function."

fcpytest.c in three versions: a C function that prints, a C struct handed to Python as
a ``c_void_p`` (and read back with a ``Structure``), and a struct that stores a Python
callback which C calls later with numpy arrays.  The C sources are ``c/fcpytest_*.c``.

The last example reads the second version's declarations from its source with
``ferrotypes.include``: ``init_pars`` then returns a pointer to the struct C declares,
read without a hand-written ``Structure``.
"""

from ferrotypes.tour._harness import c_source, captured_output, check, example, expect, expect_output


@example("c_structs", "Calling a simple C function: fcpytest() prints Hello World",
         requires=["compiler"], library=("libcpytest_hello", ["fcpytest_hello.c"]))
def hello_world() -> None:
    # test.py (the tutorial's library is ./libcpytest.so, rebuilt for each version of
    # fcpytest.c; the tour keeps one library per version)
    from ferrotypes import cdll
    libcpy = cdll.LoadLibrary('./libcpytest_hello.so')
    with captured_output() as out:
        libcpy.fcpytest()
    expect_output(out, "Hello World\n")


@example("c_structs", "Passing C structures: a struct made in C comes back as a c_void_p handle",
         requires=["compiler"], library=("libcpytest_pars", ["fcpytest_pars.c"]))
def struct_as_void_p() -> None:
    from ferrotypes import cdll,c_int,c_void_p
    libcpy = cdll.LoadLibrary('./libcpytest_pars.so')
    libcpy.init_pars.argtypes=[c_int,c_int]
    libcpy.init_pars.restype=c_void_p
    libcpy.fcpytest.argtypes=[c_void_p]
    Nx,Ny=3,5
    cptr=libcpy.init_pars(Nx,Ny)
    with captured_output() as out:
        libcpy.fcpytest(cptr)
    expect_output(out, "c: nx=3,ny=5\n")


@example("c_structs", "Passing C structures: reading the C struct with Structure.from_address",
         requires=["structures", "compiler"], library=("libcpytest_pars", ["fcpytest_pars.c"]))
def struct_from_address() -> None:
    from ferrotypes import cdll,c_int,c_void_p
    libcpy = cdll.LoadLibrary('./libcpytest_pars.so')
    libcpy.init_pars.argtypes=[c_int,c_int]
    libcpy.init_pars.restype=c_void_p
    libcpy.fcpytest.argtypes=[c_void_p]
    Nx,Ny=3,5
    cptr=libcpy.init_pars(Nx,Ny)
    libcpy.fcpytest(cptr)

    from ferrotypes import Structure
    class fcpy_pars(Structure):
      _fields_=[("nx",c_int),("ny",c_int)]

    pars=fcpy_pars.from_address(cptr)
    with captured_output() as out:
        print("py: nx=",pars.nx,"ny=",pars.ny)
    expect_output(out, "py: nx= 3 ny= 5\n")


@example("c_structs", "A Python callback stored in a C struct, called by C with numpy arrays (CFUNCTYPE)",
         requires=["callbacks", "pointers", "numpy", "compiler"],
         library=("libcpytest_callback", ["fcpytest_callback.c"]))
def callback_in_struct() -> None:
    # test.py
    import numpy as np
    from ferrotypes import cdll,c_int,c_void_p,c_double,CFUNCTYPE,POINTER
    from ferrotypes.numpy import ndpointer
    import ferrotypes.numpy as ctypeslib  # the tutorial's np.ctypeslib

    def fntest(y,t):
        print('test function called')
        print('t=',t)
        return np.abs(y)**2*np.exp(t)

    def fntest_p(y_p,t,n,res_p):
        y=ctypeslib.as_array(y_p,shape=(2*n,)).view(dtype=complex).reshape((n,))
        res=ctypeslib.as_array(res_p,shape=(n,))
        res[:]=fntest(y,t)

    cmpfunc=CFUNCTYPE(None,POINTER(c_double), c_double, c_int, POINTER(c_double))
    ftest = cmpfunc(fntest_p)
    libcpy = cdll.LoadLibrary('./libcpytest_callback.so')
    libcpy.init_pars.argtypes=[c_int,cmpfunc]
    libcpy.init_pars.restype=c_void_p

    libcpy.fcpytest.argtypes=[c_void_p,ndpointer(dtype=complex), c_double, ndpointer(dtype=float)]

    N=20
    cptr=libcpy.init_pars(N,ftest)
    x=np.linspace(-np.pi,np.pi,N)
    y=np.exp(1j*x)
    res=np.zeros(N)
    t=0.5
    with captured_output() as out:
        libcpy.fcpytest(cptr,y,t,res)
        print(res)
    check(out.lines()[:2] == ["test function called", "t= 0.5"],
          f"expected the callback to print 'test function called' and 't= 0.5', got {out.lines()[:2]}")
    # The tutorial prints twenty times 1.64872127, |exp(ix)|**2 * exp(0.5).
    check(res.shape == (20,) and np.allclose(res, 1.64872127),
          f"expected twenty values 1.64872127, got {res!r}")


@example("c_structs", "The same callback made with PYFUNCTYPE instead of CFUNCTYPE",
         requires=["callbacks", "pointers", "numpy", "compiler"],
         library=("libcpytest_callback", ["fcpytest_callback.c"]))
def callback_in_struct_pyfunctype() -> None:
    # "It seems one can use PYFUNCTYPE instead of CFUNCTYPE": the test.py above with the
    # callback type made by PYFUNCTYPE.
    import numpy as np
    from ferrotypes import cdll,c_int,c_void_p,c_double,PYFUNCTYPE,POINTER
    from ferrotypes.numpy import ndpointer
    import ferrotypes.numpy as ctypeslib

    def fntest(y,t):
        print('test function called')
        print('t=',t)
        return np.abs(y)**2*np.exp(t)

    def fntest_p(y_p,t,n,res_p):
        y=ctypeslib.as_array(y_p,shape=(2*n,)).view(dtype=complex).reshape((n,))
        res=ctypeslib.as_array(res_p,shape=(n,))
        res[:]=fntest(y,t)

    cmpfunc=PYFUNCTYPE(None,POINTER(c_double), c_double, c_int, POINTER(c_double))
    ftest = cmpfunc(fntest_p)
    libcpy = cdll.LoadLibrary('./libcpytest_callback.so')
    libcpy.init_pars.argtypes=[c_int,cmpfunc]
    libcpy.init_pars.restype=c_void_p

    libcpy.fcpytest.argtypes=[c_void_p,ndpointer(dtype=complex), c_double, ndpointer(dtype=float)]

    N=20
    cptr=libcpy.init_pars(N,ftest)
    x=np.linspace(-np.pi,np.pi,N)
    y=np.exp(1j*x)
    res=np.zeros(N)
    t=0.5
    with captured_output() as out:
        libcpy.fcpytest(cptr,y,t,res)
        print(res)
    check(out.lines()[:2] == ["test function called", "t= 0.5"],
          f"expected the callback to print 'test function called' and 't= 0.5', got {out.lines()[:2]}")
    check(res.shape == (20,) and np.allclose(res, 1.64872127),
          f"expected twenty values 1.64872127, got {res!r}")


@example("c_structs", "Declared in C: fcpytest_pars.c read with include, the struct read through the pointer",
         requires=["structures", "pointers", "compiler"], library=("libcpytest_pars", ["fcpytest_pars.c"]))
def struct_declared_in_c() -> None:
    import ferrotypes
    libcpy = ferrotypes.include(c_source("fcpytest_pars.c"), lib=ferrotypes.cdll.LoadLibrary('./libcpytest_pars.so'))
    # fcpy_pars *init_pars(int nx, int ny): no argtypes, no restype, no Structure.
    Nx,Ny=3,5
    cptr=libcpy.init_pars(Nx,Ny)
    with captured_output() as out:
        libcpy.fcpytest(cptr)
        pars=cptr.contents
        print("py: nx=",pars.nx,"ny=",pars.ny)
    expect_output(out, "c: nx=3,ny=5\npy: nx= 3 ny= 5\n")
    expect([name for name, _ in libcpy.fcpy_pars._fields_], ["nx", "ny"])
    expect(ferrotypes.sizeof(libcpy.fcpy_pars), 8)
