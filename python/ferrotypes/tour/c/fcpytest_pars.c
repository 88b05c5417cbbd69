/* From the tour's tutorial, "Passing C Structures": a struct allocated in C and handed to Python as an
 * opaque pointer, which Python passes back (or reads with a Structure). */
#include <stdio.h>
#include <stdlib.h>

typedef struct fcpy_pars_ {
    int nx, ny;
} fcpy_pars;

fcpy_pars *init_pars(int nx, int ny) {
    fcpy_pars *pars = malloc(sizeof(fcpy_pars));
    pars->nx = nx;
    pars->ny = ny;
    return pars;
}

void fcpytest(fcpy_pars *pars) {
    printf("c: nx=%i,ny=%i\n", pars->nx, pars->ny);
}
