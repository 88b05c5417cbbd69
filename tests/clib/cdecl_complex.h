/* Complex numbers for tests/test_complex.py (implemented in cdecl_complex.c), read both
 * by the C compiler and by ferrotypes.cdef, in every spelling GCC takes: arguments,
 * results, records holding them (by pointer and by value), arrays and callbacks. */

typedef _Complex float cx_float;
typedef __complex__ double cx_double;
typedef long double _Complex cx_long;

struct cx_waves { char tag; float _Complex f; double _Complex d; long double _Complex l; };
struct cx_pair { double _Complex a; float _Complex b; };
struct cx_small { float _Complex z; };
union cx_either { double _Complex d; char bytes[5]; };

double _Complex cx_mul(double _Complex a, double _Complex b);
cx_float cx_scale_f(cx_float z, float k);
long double _Complex cx_scale_l(cx_long z, long double k);
double cx_parts_l(long double _Complex z, int which);
double _Complex cx_waves_sum(const struct cx_waves *w);
void cx_waves_fill(struct cx_waves *w, double re, double im);
struct cx_pair cx_pair_swap(struct cx_pair p);
struct cx_small cx_small_twice(struct cx_small s);
double _Complex cx_sum(const double _Complex *zs, int n);
typedef double _Complex (*cx_map)(double _Complex);
double _Complex cx_apply(cx_map f, double _Complex z);
typedef float _Complex (*cx_map_f)(float _Complex, int);
float _Complex cx_apply_f(cx_map_f f, float _Complex z, int n);
typedef double (*cx_take_l)(long double _Complex);
double cx_apply_l(cx_take_l f, long double _Complex z);
double cx_variadic_real(int n, ...);
