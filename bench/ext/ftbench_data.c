/*
 * ftbench_data.c - the C-data half of the hand-written extension: the limit that
 * bench/access.py holds field access, element access, instance creation and calls
 * with structures against.
 *
 * Each type is what a careful extension author writes for the same C data:
 *   Point       struct ft_point3 {int x, y; double z;} inline, members through
 *               PyMemberDef (T_INT / T_DOUBLE), Point(x, y, z) unpacking the
 *               argument tuple directly;
 *   CInt        one C int, CInt(5);
 *   IntArray100 int[100] inline, zeroed, indexed through sq_item / sq_ass_item
 *               with bounds checks;
 *   CharBuffer  n zeroed bytes inline, made by create_string_buffer(n).
 * point3_sum(p) and point3_sum_ptr(p) pass a Point's struct to tests/clib by value
 * and by pointer, releasing the GIL around the call as ctypes.CDLL does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct { int x, y; double z; } ft_point3;
extern double ft_point3_sum(ft_point3 p);
extern double ft_point3_sum_ptr(const ft_point3 *p);

/* A C int from a Python int, with C's range checked (ftbench_ext.c). */
extern int as_int(PyObject *o, int *out);

/* TypeError unless the call has at most `max` positional and no keyword arguments. */
static int
check_arguments(PyObject *args, PyObject *kwds, Py_ssize_t max, const char *message)
{
    if (PyTuple_GET_SIZE(args) > max || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, message);
        return -1;
    }
    return 0;
}

/* ---- Point ---- */

typedef struct {
    PyObject_HEAD
    ft_point3 data;
} PointObject;

static PyObject *
Point_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (check_arguments(args, kwds, 3, "Point takes at most 3 positional arguments") < 0)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    ft_point3 data = {0, 0, 0.0};
    if (n > 0 && as_int(PyTuple_GET_ITEM(args, 0), &data.x) < 0)
        return NULL;
    if (n > 1 && as_int(PyTuple_GET_ITEM(args, 1), &data.y) < 0)
        return NULL;
    if (n > 2) {
        data.z = PyFloat_AsDouble(PyTuple_GET_ITEM(args, 2));
        if (data.z == -1.0 && PyErr_Occurred())
            return NULL;
    }
    PointObject *self = (PointObject *)type->tp_alloc(type, 0);
    if (self != NULL)
        self->data = data;
    return (PyObject *)self;
}

static PyMemberDef Point_members[] = {
    {"x", T_INT, offsetof(PointObject, data.x), 0, "int x"},
    {"y", T_INT, offsetof(PointObject, data.y), 0, "int y"},
    {"z", T_DOUBLE, offsetof(PointObject, data.z), 0, "double z"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject PointType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ftbench_ext.Point",
    .tp_basicsize = sizeof(PointObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "struct ft_point3 {int x, y; double z;}",
    .tp_members = Point_members,
    .tp_new = Point_new,
};

/* ---- CInt ---- */

typedef struct {
    PyObject_HEAD
    int value;
} CIntObject;

static PyObject *
CInt_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (check_arguments(args, kwds, 1, "CInt takes at most 1 positional argument") < 0)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    int value = 0;
    if (n == 1 && as_int(PyTuple_GET_ITEM(args, 0), &value) < 0)
        return NULL;
    CIntObject *self = (CIntObject *)type->tp_alloc(type, 0);
    if (self != NULL)
        self->value = value;
    return (PyObject *)self;
}

static PyMemberDef CInt_members[] = {
    {"value", T_INT, offsetof(CIntObject, value), 0, "the int"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject CIntType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ftbench_ext.CInt",
    .tp_basicsize = sizeof(CIntObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "one C int",
    .tp_members = CInt_members,
    .tp_new = CInt_new,
};

/* ---- IntArray100 ---- */

#define INT_ARRAY_LEN 100

typedef struct {
    PyObject_HEAD
    int items[INT_ARRAY_LEN];
} IntArrayObject;

static PyObject *
IntArray_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (check_arguments(args, kwds, 0, "IntArray100 takes no arguments") < 0)
        return NULL;
    return type->tp_alloc(type, 0); /* zeroed */
}

static Py_ssize_t
IntArray_length(PyObject *self)
{
    return INT_ARRAY_LEN;
}

static PyObject *
IntArray_item(PyObject *self, Py_ssize_t i)
{
    if (i < 0 || i >= INT_ARRAY_LEN) {
        PyErr_SetString(PyExc_IndexError, "invalid index");
        return NULL;
    }
    return PyLong_FromLong(((IntArrayObject *)self)->items[i]);
}

static int
IntArray_ass_item(PyObject *self, Py_ssize_t i, PyObject *value)
{
    if (i < 0 || i >= INT_ARRAY_LEN) {
        PyErr_SetString(PyExc_IndexError, "invalid index");
        return -1;
    }
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "array items cannot be deleted");
        return -1;
    }
    return as_int(value, &((IntArrayObject *)self)->items[i]);
}

static PySequenceMethods IntArray_as_sequence = {
    .sq_length = IntArray_length,
    .sq_item = IntArray_item,
    .sq_ass_item = IntArray_ass_item,
};

static PyTypeObject IntArrayType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ftbench_ext.IntArray100",
    .tp_basicsize = sizeof(IntArrayObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "int[100]",
    .tp_as_sequence = &IntArray_as_sequence,
    .tp_new = IntArray_new,
};

/* ---- CharBuffer ---- */

static PyTypeObject CharBufferType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ftbench_ext.CharBuffer",
    .tp_basicsize = sizeof(PyVarObject),
    .tp_itemsize = 1,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "n zeroed bytes, from create_string_buffer(n)",
};

static PyObject *
create_string_buffer(PyObject *module, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "negative size");
        return NULL;
    }
    return CharBufferType.tp_alloc(&CharBufferType, n); /* zeroed */
}

/* ---- calls with a structure ---- */

static PyObject *
point3_sum(PyObject *module, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, &PointType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Point");
        return NULL;
    }
    double r;
    Py_BEGIN_ALLOW_THREADS
    r = ft_point3_sum(((PointObject *)arg)->data);
    Py_END_ALLOW_THREADS
    return PyFloat_FromDouble(r);
}

static PyObject *
point3_sum_ptr(PyObject *module, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, &PointType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Point");
        return NULL;
    }
    double r;
    Py_BEGIN_ALLOW_THREADS
    r = ft_point3_sum_ptr(&((PointObject *)arg)->data);
    Py_END_ALLOW_THREADS
    return PyFloat_FromDouble(r);
}

static PyMethodDef data_functions[] = {
    {"create_string_buffer", create_string_buffer, METH_O, "n zeroed bytes as a CharBuffer"},
    {"point3_sum", point3_sum, METH_O, "ft_point3_sum(p->data), by value"},
    {"point3_sum_ptr", point3_sum_ptr, METH_O, "ft_point3_sum_ptr(&p->data), by pointer"},
    {NULL, NULL, 0, NULL},
};

/* Adds the types and functions above to the module; -1 with an exception set on failure. */
int
ftbench_add_data(PyObject *module)
{
    PyTypeObject *types[] = {&PointType, &CIntType, &IntArrayType, &CharBufferType};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (PyType_Ready(types[i]) < 0)
            return -1;
        const char *dot = strrchr(types[i]->tp_name, '.');
        if (PyModule_AddObjectRef(module, dot + 1, (PyObject *)types[i]) < 0)
            return -1;
    }
    return PyModule_AddFunctions(module, data_functions);
}
