/* From the tour's tutorial, "Passing a Python Function That can be Called Back from C": a struct that
 * stores a function pointer (the Python callback) and calls it later.
 * The tutorial writes plain `complex`, a GNU shorthand for `double complex`. */
#include <complex.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*fcpy_fn)(double complex *, double, int, double *);

typedef struct fcpy_pars_ {
    int n;
    fcpy_fn fn;
} fcpy_pars;

fcpy_pars *init_pars(int n, fcpy_fn fn) {
    fcpy_pars *pars = malloc(sizeof(fcpy_pars));
    pars->n = n;
    pars->fn = fn;
    return pars;
}

void fcpytest(fcpy_pars *pars, double complex *y, double t, double *res) {
    pars->fn(y, t, pars->n, res);
}
