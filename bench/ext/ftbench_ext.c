/*
 * ftbench_ext.c - the "hand-written C extension" column of the benchmark.
 *
 * Each wrapper converts its Python arguments the way a careful extension
 * author would (checked PyLong_AsLong / PyFloat_AsDouble / PyBytes_AS_STRING),
 * then makes a plain C call into the test library tests/clib/fttest.c, which
 * this module is linked against (a call through the PLT into another shared
 * object, so nothing can be inlined), and boxes the result.  This is the
 * floor an FFI can hope to approach.
 *
 * Every wrapper exists twice:
 *   NAME_nogil  releases the GIL around the C call (like ctypes.CDLL),
 *   NAME_gil    holds it (like ctypes.PyDLL).
 * All use METH_FASTCALL.  Built by bench/build_ext.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stddef.h>

/* The functions under test, from tests/clib/fttest.c. */
extern int ft_f0(void);
extern int ft_add_int(int, int);
extern int ft_add6(int, int, int, int, int, int);
extern double ft_add_double(double, double);
extern double ft_mixed5(int, double, long, float, void *);
extern size_t ft_strlen(const char *);
extern int ft_add0(void);
extern int ft_add1(int);
extern int ft_add2(int, int);
extern int ft_add3(int, int, int);
extern int ft_add4(int, int, int, int);
extern int ft_add5(int, int, int, int, int);
extern int ft_add7(int, int, int, int, int, int, int);
extern int ft_add8(int, int, int, int, int, int, int, int);

/* ---- Argument conversion: 0 on success, -1 with an exception set. ---- */

static int
as_long(PyObject *o, long *out)
{
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

/* Also used by ftbench_data.c. */
int
as_int(PyObject *o, int *out)
{
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < INT_MIN || v > INT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "Python int too large to convert to C int");
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int
as_double(PyObject *o, double *out)
{
    double v = PyFloat_AsDouble(o);
    if (v == -1.0 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

static int
as_float(PyObject *o, float *out)
{
    double v;
    if (as_double(o, &v) < 0)
        return -1;
    *out = (float)v;
    return 0;
}

/* A pointer passed as an int address (None means NULL). */
static int
as_pointer(PyObject *o, void **out)
{
    void *v;
    if (o == Py_None) {
        *out = NULL;
        return 0;
    }
    v = PyLong_AsVoidPtr(o);
    if (v == NULL && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

static int
as_bytes_buffer(PyObject *o, const char **out)
{
    if (!PyBytes_Check(o)) {
        PyErr_Format(PyExc_TypeError, "expected bytes, got %.200s", Py_TYPE(o)->tp_name);
        return -1;
    }
    *out = PyBytes_AS_STRING(o);
    return 0;
}

static int
check_nargs(const char *name, Py_ssize_t got, Py_ssize_t want)
{
    if (got == want)
        return 0;
    PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd argument%s (%zd given)",
                 name, want, want == 1 ? "" : "s", got);
    return -1;
}

/* ---- Wrapper template. ----
 * DECODE declares and converts the C arguments (using ARG below), CALL is the
 * C call expression, RTYPE its type and BOX turns the result into a PyObject.
 * Both variants are emitted from the same text so they differ only in the
 * Py_BEGIN/END_ALLOW_THREADS pair. */
#define ARG(CONV, CTYPE, VAR, INDEX) \
    CTYPE VAR;                       \
    if (CONV(args[INDEX], &VAR) < 0) \
        return NULL;

#define WRAP(NAME, NARGS, RTYPE, BOX, DECODE, CALL)                                   \
    static PyObject *NAME##_gil(PyObject *m, PyObject *const *args, Py_ssize_t nargs)  \
    {                                                                                  \
        RTYPE r;                                                                       \
        (void)m; (void)args;                                                           \
        if (check_nargs(#NAME "_gil", nargs, NARGS) < 0)                               \
            return NULL;                                                               \
        DECODE                                                                         \
        r = CALL;                                                                      \
        return BOX(r);                                                                 \
    }                                                                                  \
    static PyObject *NAME##_nogil(PyObject *m, PyObject *const *args, Py_ssize_t nargs)\
    {                                                                                  \
        RTYPE r;                                                                       \
        (void)m; (void)args;                                                           \
        if (check_nargs(#NAME "_nogil", nargs, NARGS) < 0)                             \
            return NULL;                                                               \
        DECODE                                                                         \
        Py_BEGIN_ALLOW_THREADS                                                         \
        r = CALL;                                                                      \
        Py_END_ALLOW_THREADS                                                           \
        return BOX(r);                                                                 \
    }

#define ARG_INT(VAR, INDEX) ARG(as_int, int, VAR, INDEX)
#define BOX_INT(r) PyLong_FromLong((long)(r))

WRAP(f0, 0, int, BOX_INT, /* no arguments */, ft_f0())
WRAP(add_int, 2, int, BOX_INT, ARG_INT(a, 0) ARG_INT(b, 1), ft_add_int(a, b))
WRAP(add6, 6, int, BOX_INT,
     ARG_INT(a, 0) ARG_INT(b, 1) ARG_INT(c, 2) ARG_INT(d, 3) ARG_INT(e, 4) ARG_INT(f, 5),
     ft_add6(a, b, c, d, e, f))
WRAP(add_double, 2, double, PyFloat_FromDouble,
     ARG(as_double, double, a, 0) ARG(as_double, double, b, 1),
     ft_add_double(a, b))
WRAP(mixed5, 5, double, PyFloat_FromDouble,
     ARG_INT(a, 0) ARG(as_double, double, b, 1) ARG(as_long, long, c, 2)
     ARG(as_float, float, d, 3) ARG(as_pointer, void *, p, 4),
     ft_mixed5(a, b, c, d, p))
WRAP(strlen, 1, size_t, PyLong_FromSize_t,
     ARG(as_bytes_buffer, const char *, s, 0),
     ft_strlen(s))

/* The argument-count curve. */
WRAP(add0, 0, int, BOX_INT, /* no arguments */, ft_add0())
WRAP(add1, 1, int, BOX_INT, ARG_INT(a, 0), ft_add1(a))
WRAP(add2, 2, int, BOX_INT, ARG_INT(a, 0) ARG_INT(b, 1), ft_add2(a, b))
WRAP(add3, 3, int, BOX_INT, ARG_INT(a, 0) ARG_INT(b, 1) ARG_INT(c, 2), ft_add3(a, b, c))
WRAP(add4, 4, int, BOX_INT, ARG_INT(a, 0) ARG_INT(b, 1) ARG_INT(c, 2) ARG_INT(d, 3), ft_add4(a, b, c, d))
WRAP(add5, 5, int, BOX_INT,
     ARG_INT(a, 0) ARG_INT(b, 1) ARG_INT(c, 2) ARG_INT(d, 3) ARG_INT(e, 4),
     ft_add5(a, b, c, d, e))
/* N = 6 is add6 above. */
WRAP(add7, 7, int, BOX_INT,
     ARG_INT(a, 0) ARG_INT(b, 1) ARG_INT(c, 2) ARG_INT(d, 3) ARG_INT(e, 4) ARG_INT(f, 5) ARG_INT(g, 6),
     ft_add7(a, b, c, d, e, f, g))
WRAP(add8, 8, int, BOX_INT,
     ARG_INT(a, 0) ARG_INT(b, 1) ARG_INT(c, 2) ARG_INT(d, 3) ARG_INT(e, 4) ARG_INT(f, 5) ARG_INT(g, 6) ARG_INT(h, 7),
     ft_add8(a, b, c, d, e, f, g, h))

/* ---- Callbacks: C calling a Python function through a hand-written trampoline. ----
 *
 * The trampolines call the Python function with PyObject_Vectorcall after taking
 * the GIL with PyGILState_Ensure, exactly the work a careful extension does. The
 * callable is passed per call and kept in a static (the benchmark is single-threaded). */
extern long ftcb_call_n(int (*cb)(int), int n);
extern int ftcb_qsort_ints(const int *src, int *work, size_t n, int (*cmp)(const void *, const void *));

static PyObject *current_callable;

static int
int_trampoline(int x)
{
    PyGILState_STATE state = PyGILState_Ensure();
    int r = 0;
    PyObject *arg = PyLong_FromLong(x);
    if (arg != NULL) {
        PyObject *res = PyObject_Vectorcall(current_callable, &arg, 1, NULL);
        Py_DECREF(arg);
        if (res != NULL) {
            long v = PyLong_AsLong(res);
            Py_DECREF(res);
            if (v == -1 && PyErr_Occurred())
                PyErr_WriteUnraisable(current_callable);
            else
                r = (int)v;
        }
        else
            PyErr_WriteUnraisable(current_callable);
    }
    else
        PyErr_WriteUnraisable(current_callable);
    PyGILState_Release(state);
    return r;
}

/* The comparator gets each int boxed in a 1-tuple, so the same Python code
 * (`a[0] - b[0]`) runs as with ctypes' POINTER(c_int) arguments. */
static PyObject *
boxed_int(const void *p)
{
    PyObject *v = PyLong_FromLong(*(const int *)p);
    if (v == NULL)
        return NULL;
    PyObject *t = PyTuple_New(1);
    if (t == NULL) {
        Py_DECREF(v);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, v);
    return t;
}

static int
cmp_trampoline(const void *a, const void *b)
{
    PyGILState_STATE state = PyGILState_Ensure();
    int r = 0;
    PyObject *args[2] = {boxed_int(a), boxed_int(b)};
    if (args[0] != NULL && args[1] != NULL) {
        PyObject *res = PyObject_Vectorcall(current_callable, args, 2, NULL);
        if (res != NULL) {
            long v = PyLong_AsLong(res);
            Py_DECREF(res);
            if (v == -1 && PyErr_Occurred())
                PyErr_WriteUnraisable(current_callable);
            else
                r = (int)v;
        }
        else
            PyErr_WriteUnraisable(current_callable);
    }
    else
        PyErr_WriteUnraisable(current_callable);
    Py_XDECREF(args[0]);
    Py_XDECREF(args[1]);
    PyGILState_Release(state);
    return r;
}

/* cb_call_n(f, n): ftcb_call_n with the int trampoline calling f. */
static PyObject *
cb_call_n_impl(PyObject *const *args, Py_ssize_t nargs, int release)
{
    int n;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "cb_call_n(f, n) takes 2 arguments");
        return NULL;
    }
    if (as_int(args[1], &n) < 0)
        return NULL;
    current_callable = args[0];
    long total;
    if (release) {
        Py_BEGIN_ALLOW_THREADS
        total = ftcb_call_n(int_trampoline, n);
        Py_END_ALLOW_THREADS
    }
    else
        total = ftcb_call_n(int_trampoline, n);
    return PyLong_FromLong(total);
}

static PyObject *cb_call_n_nogil(PyObject *m, PyObject *const *a, Py_ssize_t n) { return cb_call_n_impl(a, n, 1); }
static PyObject *cb_call_n_gil(PyObject *m, PyObject *const *a, Py_ssize_t n) { return cb_call_n_impl(a, n, 0); }

/* qsort_ints(src_address, work_address, n, cmp): ftcb_qsort_ints with the
 * comparator trampoline calling cmp. */
static PyObject *
qsort_ints_impl(PyObject *const *args, Py_ssize_t nargs, int release)
{
    long src, work, n;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "qsort_ints(src, work, n, cmp) takes 4 arguments");
        return NULL;
    }
    if (as_long(args[0], &src) < 0 || as_long(args[1], &work) < 0 || as_long(args[2], &n) < 0)
        return NULL;
    current_callable = args[3];
    int first;
    if (release) {
        Py_BEGIN_ALLOW_THREADS
        first = ftcb_qsort_ints((const int *)src, (int *)work, (size_t)n, cmp_trampoline);
        Py_END_ALLOW_THREADS
    }
    else
        first = ftcb_qsort_ints((const int *)src, (int *)work, (size_t)n, cmp_trampoline);
    return PyLong_FromLong(first);
}

static PyObject *qsort_ints_nogil(PyObject *m, PyObject *const *a, Py_ssize_t n) { return qsort_ints_impl(a, n, 1); }
static PyObject *qsort_ints_gil(PyObject *m, PyObject *const *a, Py_ssize_t n) { return qsort_ints_impl(a, n, 0); }

/* ---- Zero-copy arrays: a buffer of doubles summed in C. ----
 *
 * sum_doubles_buffer(array, n): what a careful extension does with an array argument:
 * one PyObject_GetBuffer asking for a C-contiguous buffer with its format, checks of
 * the item type, the dimensions and the length, the C call on the buffer's memory,
 * and PyBuffer_Release. */
extern double ftnp_sum_doubles(const double *values, size_t n);

static int
is_native_double_format(const char *format)
{
    if (format == NULL)
        return 0;
    if (format[0] == '@' || format[0] == '=' || format[0] == '<')
        format++;
    return format[0] == 'd' && format[1] == '\0';
}

static PyObject *
sum_doubles_buffer_impl(PyObject *const *args, Py_ssize_t nargs, int release)
{
    Py_buffer view;
    Py_ssize_t n;
    double r;
    if (check_nargs("sum_doubles_buffer", nargs, 2) < 0)
        return NULL;
    n = PyLong_AsSsize_t(args[1]);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (view.itemsize != (Py_ssize_t)sizeof(double) || !is_native_double_format(view.format)
        || view.ndim != 1 || n < 0 || n > view.len / (Py_ssize_t)sizeof(double)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "expected a 1-d C-contiguous buffer of at least n doubles");
        return NULL;
    }
    if (release) {
        Py_BEGIN_ALLOW_THREADS
        r = ftnp_sum_doubles((const double *)view.buf, (size_t)n);
        Py_END_ALLOW_THREADS
    }
    else
        r = ftnp_sum_doubles((const double *)view.buf, (size_t)n);
    PyBuffer_Release(&view);
    return PyFloat_FromDouble(r);
}

static PyObject *sum_doubles_buffer_nogil(PyObject *m, PyObject *const *a, Py_ssize_t n) { return sum_doubles_buffer_impl(a, n, 1); }
static PyObject *sum_doubles_buffer_gil(PyObject *m, PyObject *const *a, Py_ssize_t n) { return sum_doubles_buffer_impl(a, n, 0); }

/* ---- The same wrappers behind a callable object. ----
 *
 * CPython calls a builtin function (the wrappers above) through an instruction
 * specialised for it, which calls the C function directly. A ctypes function pointer
 * is an instance of a class, which CPython calls the general way: PyObject_Vectorcall,
 * the object's vectorcall function, _Py_CheckFunctionResult. as_object(f) wraps one
 * of the wrappers in an object of such a class, whose vectorcall function calls it:
 * the floor for any FFI whose functions are objects. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    _PyCFunctionFast function;
    PyObject *wrapped;
} CallerObject;

static PyObject *
Caller_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) {
        PyErr_SetString(PyExc_TypeError, "no keyword arguments");
        return NULL;
    }
    return ((CallerObject *)self)->function(NULL, args, PyVectorcall_NARGS(nargsf));
}

static void
Caller_dealloc(PyObject *self)
{
    Py_XDECREF(((CallerObject *)self)->wrapped);
    Py_TYPE(self)->tp_free(self);
}

static PyTypeObject CallerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ftbench_ext.Caller",
    .tp_basicsize = sizeof(CallerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(CallerObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_dealloc = Caller_dealloc,
    .tp_doc = "a METH_FASTCALL wrapper of this module called through an object's vectorcall",
};

static PyObject *
as_object(PyObject *module, PyObject *f)
{
    (void)module;
    if (!PyCFunction_Check(f) || PyCFunction_GET_FLAGS(f) != METH_FASTCALL) {
        PyErr_SetString(PyExc_TypeError, "as_object(f) takes one of this module's METH_FASTCALL wrappers");
        return NULL;
    }
    CallerObject *caller = PyObject_New(CallerObject, &CallerType);
    if (caller == NULL)
        return NULL;
    caller->vectorcall = Caller_vectorcall;
    caller->function = (_PyCFunctionFast)(void (*)(void))PyCFunction_GET_FUNCTION(f);
    caller->wrapped = Py_NewRef(f);
    return (PyObject *)caller;
}

#define ENTRY(NAME, DOC)                                                      \
    {#NAME "_gil", (PyCFunction)(void (*)(void))NAME##_gil, METH_FASTCALL,     \
     DOC " (holds the GIL)"},                                                 \
    {#NAME "_nogil", (PyCFunction)(void (*)(void))NAME##_nogil, METH_FASTCALL, \
     DOC " (releases the GIL)"},

static PyMethodDef ftbench_methods[] = {
    ENTRY(f0, "ft_f0()")
    ENTRY(add_int, "ft_add_int(a, b)")
    ENTRY(add6, "ft_add6(a, b, c, d, e, f)")
    ENTRY(add_double, "ft_add_double(a, b)")
    ENTRY(mixed5, "ft_mixed5(int, float, int, float, address)")
    ENTRY(strlen, "ft_strlen(bytes)")
    ENTRY(add0, "ft_add0()")
    ENTRY(add1, "ft_add1(a)")
    ENTRY(add2, "ft_add2(a, b)")
    ENTRY(add3, "ft_add3(a, b, c)")
    ENTRY(add4, "ft_add4(a, b, c, d)")
    ENTRY(add5, "ft_add5(a, b, c, d, e)")
    ENTRY(add7, "ft_add7(a, ..., g)")
    ENTRY(add8, "ft_add8(a, ..., h)")
    ENTRY(cb_call_n, "ftcb_call_n(trampoline calling f, n)")
    ENTRY(qsort_ints, "ftcb_qsort_ints(src, work, n, trampoline calling cmp)")
    ENTRY(sum_doubles_buffer, "ftnp_sum_doubles(buffer of doubles, n)")
    {"as_object", as_object, METH_O, "wrapper f called through an object's vectorcall (a Caller)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ftbench_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ftbench_ext",
    .m_doc = "Hand-written CPython wrappers around tests/clib/fttest.c: the benchmark's floor.",
    .m_size = -1,
    .m_methods = ftbench_methods,
};

/* ftbench_data.c: the C-data types and functions of bench/access.py. */
extern int ftbench_add_data(PyObject *module);

PyMODINIT_FUNC
PyInit_ftbench_ext(void)
{
    PyObject *module = PyModule_Create(&ftbench_module);
    if (module != NULL && (PyType_Ready(&CallerType) < 0 || ftbench_add_data(module) < 0))
        Py_CLEAR(module);
    return module;
}
