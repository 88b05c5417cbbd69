/* The SciPy Cookbook's "ctypes" page, "Dynamic allocation through callbacks": C asks a Python
 * callback for memory (a NumPy array) and fills it.
 * foo() is the cookbook's; it printed "data = 0x%p", an MSVC-ism that glibc would print as
 * "0x0x...", so here it is plain %p.  baz() gives the cookbook's `lib.baz` prototype
 * (c_float, c_int, ALLOCATOR) something to do: it fills an n-element array with value.
 * foo_out() takes the cookbook's out-parameter allocator, `void (*)(int, int*, void**)`. */
#include <stdio.h>

typedef void *(*allocator_t)(int, int *);
typedef void (*allocator_out_t)(int, int *, void **);

void foo(allocator_t allocator) {
    int dim = 2;
    int shape[] = {2, 3};
    float *data = NULL;
    int i, j;
    printf("foo calling allocator\n");
    data = (float *) allocator(dim, shape);
    printf("allocator returned in foo\n");
    printf("data = %p\n", (void *) data);
    for (i = 0; i < shape[0]; i++) {
        for (j = 0; j < shape[1]; j++) {
            *data++ = (i + 1) * (j + 1);
        }
    }
}

void baz(float value, int n, allocator_t allocator) {
    int shape[] = {n};
    float *data = (float *) allocator(1, shape);
    for (int i = 0; i < n; i++)
        data[i] = value;
}

void foo_out(allocator_out_t allocator) {
    int shape[] = {2, 3};
    void *memory = NULL;
    float *data;
    allocator(2, shape, &memory);
    data = memory;
    for (int i = 0; i < shape[0]; i++)
        for (int j = 0; j < shape[1]; j++)
            *data++ = (i + 1) * (j + 1);
}
