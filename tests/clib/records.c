/*
 * records.c - structs and unions by value and by pointer, for the tests and the
 * benchmark.  Part of the fttest library (tests/clib/build.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(_WIN32) || defined(__CYGWIN__)
#  define FT_EXPORT __declspec(dllexport)
#else
#  define FT_EXPORT __attribute__((visibility("default")))
#endif

/* Two ints: returned in one integer register. */
typedef struct { int x, y; } ft_point;
/* Floats only: passed in SSE registers. */
typedef struct { float x, y, z; } ft_vec3f;
/* Mixed: one integer and one SSE eightbyte. */
typedef struct { int id; double weight; } ft_tagged;
/* Larger than 16 bytes: passed in memory, returned through a hidden pointer. */
typedef struct { long a, b, c; double d; char name[8]; } ft_big;
/* An array member. */
typedef struct { short n; int values[4]; } ft_with_array;
/* Packed, yet every member at its own alignment: still passed in registers. */
#pragma pack(push, 2)
typedef struct { short a; short b; int c; } ft_packed_aligned;
#pragma pack(pop)
/* Packed with a misaligned member, larger than 16 bytes: memory class. */
#pragma pack(push, 1)
typedef struct { char tag; double a, b; } ft_packed_big;
#pragma pack(pop)
/* A union: integer class (an int overlaps the float). */
typedef union { float f; int i; } ft_float_or_int;
/* A union of doubles only: SSE class. */
typedef union { double d; float f[2]; } ft_double_or_floats;
/* Bit-fields. */
typedef struct { unsigned a : 3; int b : 5; unsigned c : 20; } ft_bits;
/* The benchmark's point: three fields. */
typedef struct { int x, y; double z; } ft_point3;

FT_EXPORT ft_point ft_point_make(int x, int y) { ft_point p = {x, y}; return p; }
FT_EXPORT int ft_point_sum(ft_point p) { return p.x + p.y; }
FT_EXPORT ft_point ft_point_swap(ft_point p) { ft_point q = {p.y, p.x}; return q; }
FT_EXPORT int ft_point_sum_ptr(const ft_point *p) { return p->x + p->y; }
FT_EXPORT void ft_point_scale(ft_point *p, int k) { p->x *= k; p->y *= k; }
FT_EXPORT void ft_point_fill(int x, int y, ft_point *p) { p->x = x; p->y = y; }

FT_EXPORT ft_vec3f ft_vec3f_scale(ft_vec3f v, float k) { ft_vec3f r = {v.x * k, v.y * k, v.z * k}; return r; }
FT_EXPORT double ft_vec3f_dot(ft_vec3f a, ft_vec3f b) { return (double)a.x * b.x + (double)a.y * b.y + (double)a.z * b.z; }

FT_EXPORT ft_tagged ft_tagged_next(ft_tagged t) { ft_tagged r = {t.id + 1, t.weight * 2.0}; return r; }

FT_EXPORT ft_big ft_big_make(long a, long b, long c, double d, const char *name)
{
    ft_big r = {a, b, c, d, {0}};
    strncpy(r.name, name, sizeof r.name - 1);
    return r;
}
FT_EXPORT double ft_big_sum(ft_big v) { return (double)(v.a + v.b + v.c) + v.d + (double)v.name[0]; }
/* Big records between scalar arguments: checks the stack layout around them. */
FT_EXPORT double ft_big_between(int k, ft_big v, double scale) { return k * 1000.0 + ft_big_sum(v) * scale; }

FT_EXPORT int ft_with_array_sum(ft_with_array v)
{
    int s = v.n;
    for (int i = 0; i < 4; i++) s += v.values[i] * (i + 1);
    return s;
}
FT_EXPORT ft_with_array ft_with_array_iota(short n)
{
    ft_with_array r = {n, {n, n + 1, n + 2, n + 3}};
    return r;
}

FT_EXPORT int ft_packed_aligned_sum(ft_packed_aligned v) { return v.a + v.b * 10 + v.c * 100; }
FT_EXPORT ft_packed_aligned ft_packed_aligned_make(short a, short b, int c) { ft_packed_aligned r = {a, b, c}; return r; }
FT_EXPORT double ft_packed_big_sum(ft_packed_big v) { return v.tag + v.a + v.b; }
FT_EXPORT ft_packed_big ft_packed_big_make(char tag, double a, double b) { ft_packed_big r = {tag, a, b}; return r; }

FT_EXPORT int ft_float_or_int_bits(ft_float_or_int u) { return u.i; }
FT_EXPORT ft_float_or_int ft_float_or_int_from_float(float f) { ft_float_or_int u; u.f = f; return u; }
FT_EXPORT double ft_double_or_floats_sum(ft_double_or_floats u) { return (double)u.f[0] + u.f[1]; }
FT_EXPORT ft_double_or_floats ft_double_or_floats_make(double d) { ft_double_or_floats u; u.d = d; return u; }

FT_EXPORT ft_bits ft_bits_make(unsigned a, int b, unsigned c) { ft_bits r; memset(&r, 0, sizeof r); r.a = a; r.b = b; r.c = c; return r; }
FT_EXPORT int ft_bits_sum(ft_bits v) { return (int)v.a + v.b + (int)v.c; }

FT_EXPORT double ft_point3_sum(ft_point3 p) { return p.x + p.y + p.z; }
FT_EXPORT double ft_point3_sum_ptr(const ft_point3 *p) { return p->x + p->y + p->z; }

/* ---- Shapes for the direct path's System V classification (tests/test_call_signatures.py) ---- */
/* Two INTEGER eightbytes. */
typedef struct { long a, b; } ft_lpair;
/* Two SSE eightbytes. */
typedef struct { double a, b; } ft_dpair;
/* Records that end inside an eightbyte. */
typedef struct { unsigned char a; signed char b; unsigned char c; } ft_bytes3;
typedef struct { char s[7]; } ft_chars7;
/* A float and an int in one eightbyte: INTEGER. */
typedef struct { float f; int i; } ft_floatint;
/* A double, then a float in a partly filled SSE eightbyte. */
typedef struct { double d; float f; } ft_dfloat;

/* The pair needs two integer registers and one is left: it goes on the stack, g in %r9. */
FT_EXPORT long ft_lpair_after_five(long a, long b, long c, long d, long e, ft_lpair p, long g)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * p.a + 7 * p.b + 8 * g;
}

/* The pair needs two vector registers and one is left: on the stack, h in %xmm7. */
FT_EXPORT double ft_dpair_after_seven(double a, double b, double c, double d, double e, double f, double g,
                                      ft_dpair p, double h)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * p.a + 9 * p.b + 10 * h;
}

FT_EXPORT double ft_small_records(ft_bytes3 b, ft_chars7 c, ft_floatint fi, ft_vec3f v, short k, ft_dfloat df)
{
    double s = b.a + 3.0 * b.b + 5.0 * b.c;
    for (int i = 0; i < 7; i++) s += (i + 7.0) * (signed char)c.s[i];
    return s + 17.0 * fi.f + 19.0 * fi.i + 23.0 * v.x + 29.0 * v.y + 31.0 * v.z + 37.0 * k
             + 41.0 * df.d + 43.0 * df.f;
}

/* Seven points, each an INTEGER and an SSE eightbyte: the seventh finds the integer
   registers full and goes on the stack although vector registers are left, which the
   pair after it takes (%xmm6, %xmm7); the last double goes on the stack. */
FT_EXPORT double ft_point3_many(ft_point3 p0, ft_point3 p1, ft_point3 p2, ft_point3 p3, ft_point3 p4,
                                ft_point3 p5, ft_point3 p6, ft_dpair q, double w)
{
    const ft_point3 ps[7] = {p0, p1, p2, p3, p4, p5, p6};
    double s = 0;
    for (int i = 0; i < 7; i++) s += (i + 1) * (ps[i].x + 10.0 * ps[i].y + 100.0 * ps[i].z);
    return s + 1000.0 * q.a + 3000.0 * q.b + 7000.0 * w;
}

/* Ten stack words of records: beyond the direct path, through libffi. */
FT_EXPORT double ft_big_twice(ft_big a, ft_big b) { return ft_big_sum(a) + 2.0 * ft_big_sum(b); }
/* A pointer parameter that may be NULL. */
FT_EXPORT double ft_point3_sum_or(const ft_point3 *p, double otherwise) { return p ? ft_point3_sum_ptr(p) : otherwise; }
