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
