/* The SciPy Cookbook's "ctypes" page, "More useful code frags": a function taking float**, one
 * pointer per row.  Where the cookbook says "do something with *x", it prints the first
 * element of each row. */
#include <stdio.h>

void foo(float **data, int len) {
    float **x = data;
    for (int i = 0; i < len; i++, x++) {
        printf("row %d starts with %g\n", i, (double) (*x)[0]);
    }
}
