/* The functions of cdecl_complex.h: each computes from what C received, so that the
 * tests see the C side's view of complex values. */
#include <stdarg.h>
#include "cdecl_complex.h"

double _Complex cx_mul(double _Complex a, double _Complex b) { return a * b; }
cx_float cx_scale_f(cx_float z, float k) { return z * k; }
long double _Complex cx_scale_l(cx_long z, long double k) { return z * k; }
double cx_parts_l(long double _Complex z, int which) { return (double)(which ? __imag__ z : __real__ z); }

double _Complex cx_waves_sum(const struct cx_waves *w) { return w->f + w->d + (double _Complex)w->l; }

void cx_waves_fill(struct cx_waves *w, double re, double im) {
    w->tag = 'w';
    w->f = (float)re + (float)im * 1.0fi;
    w->d = 2 * re + 2 * im * 1.0i;
    w->l = 3 * re + 3 * im * 1.0il;
}

struct cx_pair cx_pair_swap(struct cx_pair p) {
    struct cx_pair q = {p.b, (float _Complex)p.a};
    return q;
}

struct cx_small cx_small_twice(struct cx_small s) {
    s.z *= 2;
    return s;
}

double _Complex cx_sum(const double _Complex *zs, int n) {
    double _Complex sum = 0;
    for (int i = 0; i < n; i++) sum += zs[i];
    return sum;
}

double _Complex cx_apply(cx_map f, double _Complex z) { return f(z) + 1; }
float _Complex cx_apply_f(cx_map_f f, float _Complex z, int n) { return f(z, n) * 2; }
double cx_apply_l(cx_take_l f, long double _Complex z) { return f(z); }

/* A complex value promoted by no rule: variadic functions get it as it is. */
double cx_variadic_real(int n, ...) {
    va_list ap;
    double sum = 0;
    va_start(ap, n);
    for (int i = 0; i < n; i++) sum += __real__ va_arg(ap, double _Complex);
    va_end(ap);
    return sum;
}
