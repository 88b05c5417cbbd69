/*
 * fttest.c - the C library the ferrotypes test-suite and benchmark call into.
 *
 * C99, standard headers only (pthread is allowed for later additions).
 * Every exported symbol is prefixed ft_ and is deliberately non-static so the
 * dynamic loader can find it.  Built by tests/clib/build.py.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#if defined(_WIN32) || defined(__CYGWIN__)
#  define FT_EXPORT __declspec(dllexport)
#else
#  define FT_EXPORT __attribute__((visibility("default")))
#endif

/* ctypes.c_ssize_t is Py_ssize_t: ptrdiff_t has that size on every supported
 * ABI and avoids the POSIX-only ssize_t.  Fails to compile if that is false. */
typedef ptrdiff_t ft_ssize_t;
typedef char ft_ssize_t_is_pointer_sized[sizeof(ft_ssize_t) == sizeof(void *) ? 1 : -1];

/* ---- Identity functions: one per ctypes simple type, returning the argument. ---- */
#define FT_IDENTITY(NAME, TYPE) \
    FT_EXPORT TYPE ft_id_##NAME(TYPE x) { return x; }

FT_IDENTITY(bool, _Bool)
FT_IDENTITY(char, char)
FT_IDENTITY(schar, signed char)
FT_IDENTITY(uchar, unsigned char)
FT_IDENTITY(short, short)
FT_IDENTITY(ushort, unsigned short)
FT_IDENTITY(int, int)
FT_IDENTITY(uint, unsigned int)
FT_IDENTITY(long, long)
FT_IDENTITY(ulong, unsigned long)
FT_IDENTITY(longlong, long long)
FT_IDENTITY(ulonglong, unsigned long long)
FT_IDENTITY(int8, int8_t)
FT_IDENTITY(uint8, uint8_t)
FT_IDENTITY(int16, int16_t)
FT_IDENTITY(uint16, uint16_t)
FT_IDENTITY(int32, int32_t)
FT_IDENTITY(uint32, uint32_t)
FT_IDENTITY(int64, int64_t)
FT_IDENTITY(uint64, uint64_t)
FT_IDENTITY(size_t, size_t)
FT_IDENTITY(ssize_t, ft_ssize_t)
FT_IDENTITY(float, float)
FT_IDENTITY(double, double)
FT_IDENTITY(longdouble, long double)
FT_IDENTITY(wchar, wchar_t)
FT_IDENTITY(charp, char *)
FT_IDENTITY(wcharp, wchar_t *)
FT_IDENTITY(voidp, void *)

#undef FT_IDENTITY

/* ---- Benchmark functions: trivial bodies, so a call measures the FFI, not C. ---- */
FT_EXPORT int ft_f0(void) { return 42; }
FT_EXPORT int ft_add_int(int a, int b) { return a + b; }
FT_EXPORT int ft_add6(int a, int b, int c, int d, int e, int f) { return a + b + c + d + e + f; }
FT_EXPORT double ft_add_double(double a, double b) { return a + b; }

/* a + b + c + d, plus 1 when p is non-NULL (p is never dereferenced). */
FT_EXPORT double ft_mixed5(int a, double b, long c, float d, void *p)
{
    return a + b + (double)c + (double)d + (p ? 1.0 : 0.0);
}

/* The argument-count curve: ft_addN (N = 0..8) takes N ints and returns their sum. */
FT_EXPORT int ft_add0(void) { return 0; }
FT_EXPORT int ft_add1(int a) { return a; }
FT_EXPORT int ft_add2(int a, int b) { return a + b; }
FT_EXPORT int ft_add3(int a, int b, int c) { return a + b + c; }
FT_EXPORT int ft_add4(int a, int b, int c, int d) { return a + b + c + d; }
FT_EXPORT int ft_add5(int a, int b, int c, int d, int e) { return a + b + c + d + e; }
/* ft_add6 is defined above. */
FT_EXPORT int ft_add7(int a, int b, int c, int d, int e, int f, int g)
{
    return a + b + c + d + e + f + g;
}
FT_EXPORT int ft_add8(int a, int b, int c, int d, int e, int f, int g, int h)
{
    return a + b + c + d + e + f + g + h;
}

/* ---- Arguments past the registers (x86-64: 6 integer, 8 vector registers). ----
 * Each argument is weighted by its position, so one read from the wrong place
 * changes the result. */
FT_EXPORT double ft_crowded(signed char a, double b, unsigned short c, float d, long long e,
                            int f, double g, unsigned char h, short i, float j, double k,
                            unsigned int l, double m, long n, double o, float p, int q,
                            double r, double s)
{
    return 1.0 * a + 2 * b + 3.0 * c + 4.0 * d + 5.0 * (double)e + 6.0 * f + 7 * g + 8.0 * h
        + 9.0 * i + 10.0 * j + 11 * k + 12.0 * l + 13 * m + 14.0 * (double)n + 15 * o
        + 16.0 * p + 17.0 * q + 18 * r + 19 * s;
}

FT_EXPORT long long ft_sum14(long long a, int b, short c, signed char d, long long e, int f,
                             long long g, int h, short i, signed char j, unsigned short k,
                             unsigned char l, unsigned int m, long long n)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i + 10 * j
        + 11 * k + 12 * l + 13LL * m + 14 * n;
}

FT_EXPORT float ft_floats10(float a, float b, float c, float d, float e, float f, float g,
                            float h, float i, float j)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i + 10 * j;
}

/* ---- Arrays and out-parameters. ---- */
FT_EXPORT double ft_sum_doubles(const double *p, size_t n)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += p[i];
    return total;
}

/* Truncating division, as C does.  NULL outputs are skipped; b == 0 stores 0
 * in both, and INT_MIN / -1 stores INT_MIN and 0, instead of trapping. */
FT_EXPORT void ft_divmod(int a, int b, int *q, int *r)
{
    int qq = 0, rr = 0;
    if (b == -1) {
        qq = (int)(0u - (unsigned)a);  /* wraps for INT_MIN, like two's complement */
        rr = 0;
    } else if (b != 0) {
        qq = a / b;
        rr = a % b;
    }
    if (q) *q = qq;
    if (r) *r = rr;
}

/* ft_divmod with a status result (for paramflags' output parameters): 0, or -1
 * (and nothing stored) when b == 0. */
FT_EXPORT int ft_divmod_out(int a, int b, int *q, int *r)
{
    if (b == 0)
        return -1;
    ft_divmod(a, b, q, r);
    return 0;
}

/* Multiplies *x by k in place (an in-out parameter); returns the new value. */
FT_EXPORT int ft_scale_inout(int *x, int k)
{
    *x *= k;
    return *x;
}

/* Writes 0, 1, ..., n-1 into out[0..n-1] and returns n (nothing is written if n <= 0). */
FT_EXPORT int ft_fill_ints(int *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = i;
    return n;
}

/* ---- Variadic functions: count, then that many ints / doubles. ---- */
FT_EXPORT int ft_sum_variadic(int count, ...)
{
    va_list ap;
    int total = 0;
    va_start(ap, count);
    for (int i = 0; i < count; i++)
        total += va_arg(ap, int);
    va_end(ap);
    return total;
}

FT_EXPORT double ft_sum_variadic_double(int count, ...)
{
    va_list ap;
    double total = 0.0;
    va_start(ap, count);
    for (int i = 0; i < count; i++)
        total += va_arg(ap, double);
    va_end(ap);
    return total;
}

/* ---- Strings.  ft_strlen(NULL) is 0; ft_upper_inplace changes ASCII a-z only,
 * independent of the locale, and returns its argument. ---- */
FT_EXPORT size_t ft_strlen(const char *s)
{
    size_t n = 0;
    if (s)
        while (s[n])
            n++;
    return n;
}

FT_EXPORT char *ft_upper_inplace(char *s)
{
    if (s)
        for (char *c = s; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
    return s;
}

/* Static strings: "ferrotypes" and L"ferrotypes \u00e9\u4e2d" (BMP only, so
 * the same on UTF-16 and UTF-32 wchar_t platforms). */
FT_EXPORT const char *ft_static_string(void) { return "ferrotypes"; }
FT_EXPORT const wchar_t *ft_static_wstring(void) { return L"ferrotypes \u00e9\u4e2d"; }

/* ---- errno: for use_errno=True / get_errno / set_errno. ---- */
FT_EXPORT int ft_set_errno(int value)
{
    errno = value;
    return -1;
}

FT_EXPORT int ft_get_errno(void) { return errno; }

/* ---- A global variable, for in_dll(), and a function that changes it. ---- */
FT_EXPORT int ft_global_counter = 0;

FT_EXPORT void ft_bump_counter(void) { ft_global_counter++; }
