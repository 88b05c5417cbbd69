"""The ferrotypes tour: ``python -m ferrotypes.tour``.

Runs the examples of the five ctypes tutorials ferrotypes grew from (a C struct that
calls back into Python, scalars and arrays, the SciPy Cookbook's numpy recipes, strings
and C-allocated memory, and the ctypes documentation's qsort callback; each module
credits its tutorial by title) against libc and small C libraries the tour compiles from the tutorials'
own C code (``c/*.c``, via ``ferrotypes._cbuild``).

Each example is the tutorial's code with only the import changed (``import ferrotypes
as ctypes``, ``from ferrotypes import *``, ``ferrotypes.numpy`` for ``numpy.ctypeslib``),
prints what the tutorial prints, and checks it against the output the tutorial shows.
The examples titled "Declared in C" do the same things with no hand-written
signatures: ``ferrotypes.include`` reads a header (``stdlib.h``) or a library's own C
source, ``ferrotypes.cdef`` reads the declarations of a source without ``#include``.
An example whose features ferrotypes does not have yet (found by probing, not from a
list) is skipped with the feature it needs; so is one that needs a C compiler when
there is none.  The exit status is 0 when every example that ran passed, 1 otherwise.

What it is not: the test-suite.  It shows tutorial code working, and fails loudly when
it does not; it does not try edge cases.
"""

from ferrotypes.tour._harness import EXAMPLES, main  # noqa: F401

# Importing the example modules registers their examples, in this order.
from ferrotypes.tour import (  # noqa: F401,E402
    callbacks_in_c_structs,
    scalars_and_arrays,
    numpy_cookbook,
    strings_and_memory,
    qsort_callback,
)

__all__ = ["EXAMPLES", "main"]
