/*
 * callbacks.c - C that calls function pointers it is given: the callback half of
 * the ferrotypes test library (compiled into the same shared library as fttest.c
 * by tests/clib/build.py).
 *
 * Every exported symbol is prefixed ftcb_.  C99 plus POSIX threads.
 */
#include <pthread.h>
#include <unistd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <wchar.h>

#if defined(_WIN32) || defined(__CYGWIN__)
#  define FT_EXPORT __declspec(dllexport)
#else
#  define FT_EXPORT __attribute__((visibility("default")))
#endif

/* ---- One callback per simple argument kind: call cb(x) and return its result. ---- */
#define FTCB_PASS(NAME, TYPE) \
    FT_EXPORT TYPE ftcb_pass_##NAME(TYPE (*cb)(TYPE), TYPE x) { return cb(x); }

FTCB_PASS(bool, _Bool)
FTCB_PASS(char, char)
FTCB_PASS(schar, signed char)
FTCB_PASS(uchar, unsigned char)
FTCB_PASS(short, short)
FTCB_PASS(ushort, unsigned short)
FTCB_PASS(int, int)
FTCB_PASS(uint, unsigned int)
FTCB_PASS(long, long)
FTCB_PASS(ulong, unsigned long)
FTCB_PASS(longlong, long long)
FTCB_PASS(ulonglong, unsigned long long)
FTCB_PASS(float, float)
FTCB_PASS(double, double)
FTCB_PASS(longdouble, long double)
FTCB_PASS(wchar, wchar_t)
FTCB_PASS(charp, char *)
FTCB_PASS(wcharp, wchar_t *)
FTCB_PASS(voidp, void *)

/* Many arguments of mixed kinds: more than fit in registers. */
FT_EXPORT double ftcb_mixed(double (*cb)(signed char, unsigned short, int, long long,
                                         float, double, void *, int, int, double, long),
                            void *p)
{
    return cb(-3, 65000, -100000, -5000000000LL, 1.5f, 2.25, p, 7, 8, -0.5, 9L);
}

/* Registers exactly full: six integer-class and eight floating arguments, the
 * classes interleaved (a callback of this shape needs no libffi closure). */
FT_EXPORT double ftcb_registers_full(double (*cb)(signed char, float, unsigned short, double, double,
                                                  long long, float, void *, double, int, float,
                                                  _Bool, double, float),
                                     void *p)
{
    return cb(-7, 1.5f, 65000, -2.25, 1e300, -5000000000LL, -0.0f, p, 3.0, -2147483647 - 1, 7.0f,
              1, -1e-300, 3.4028234e38f);
}

/* One register too many of each class: the seventh integer and the ninth double
 * travel on the stack. */
FT_EXPORT long ftcb_seven_ints(long (*cb)(int, int, int, int, int, int, long))
{
    return cb(1, -2, 3, -4, 5, -6, 7000000000L);
}

FT_EXPORT double ftcb_nine_doubles(double (*cb)(double, double, double, double, double, double,
                                                double, double, float))
{
    return cb(0.5, -1.5, 2.5, -3.5, 4.5, -5.5, 6.5, -7.5, 8.25f);
}

/* A float result and narrow integer arguments between floats. */
FT_EXPORT float ftcb_float_mix(float (*cb)(float, char, short, double, unsigned char), float x)
{
    return cb(x, 'q', -300, 0.125, 250);
}

/* The callback writes through the pointer it is given. */
FT_EXPORT int ftcb_out(void (*cb)(int *), int start)
{
    int v = start;
    cb(&v);
    return v;
}

/* ---- Structures by value: as callback arguments and as callback results. ---- */
typedef struct { int x, y; } ftcb_point;                   /* one integer register */
typedef struct { double x, y; } ftcb_vec2;                 /* two SSE registers */
typedef struct { char tag; float f; short s; } ftcb_tagf;  /* a float sharing an eightbyte with a char: integer registers */
typedef struct { long a, b, c; double d; } ftcb_big;       /* 32 bytes: in memory */

FT_EXPORT int ftcb_point_arg(int (*cb)(ftcb_point, int), int x, int y, int k)
{
    ftcb_point p = {x, y};
    return cb(p, k);
}

FT_EXPORT double ftcb_vec2_args(double (*cb)(ftcb_vec2, double, ftcb_vec2), double a, double b)
{
    ftcb_vec2 u = {a, b}, v = {b, -a};
    return cb(u, 0.5, v);
}

FT_EXPORT double ftcb_tagf_arg(double (*cb)(int, ftcb_tagf), char tag, float f, short s)
{
    ftcb_tagf m = {tag, f, s};
    return cb(7, m);
}

FT_EXPORT double ftcb_big_arg(double (*cb)(int, ftcb_big, double), long a, long b, long c, double d)
{
    ftcb_big v = {a, b, c, d};
    return cb(1, v, 2.0);
}

FT_EXPORT long ftcb_point_result(ftcb_point (*cb)(int, int), int x, int y)
{
    ftcb_point p = cb(x, y);
    return p.x * 1000L + p.y;
}

FT_EXPORT double ftcb_vec2_result(ftcb_vec2 (*cb)(double), double v)
{
    ftcb_vec2 r = cb(v);
    return r.x * 10.0 + r.y;
}

FT_EXPORT double ftcb_tagf_result(ftcb_tagf (*cb)(void))
{
    ftcb_tagf m = cb();
    return m.tag * 10000.0 + m.f * 100.0 + m.s;
}

FT_EXPORT double ftcb_big_result(ftcb_big (*cb)(long), long v)
{
    ftcb_big r = cb(v);
    return (double)(r.a + r.b + r.c) + r.d;
}

/* ---- Calling n times: the benchmark's loop. ---- */
FT_EXPORT long ftcb_call_n(int (*cb)(int), int n)
{
    long total = 0;
    for (int i = 0; i < n; i++)
        total += cb(i);
    return total;
}

/* ---- A callback stored now and called later. ---- */
static int (*stored_cb)(int);

FT_EXPORT void ftcb_store(int (*cb)(int)) { stored_cb = cb; }

FT_EXPORT int ftcb_call_stored(int x) { return stored_cb ? stored_cb(x) : -1; }

FT_EXPORT void *ftcb_stored_address(void) { return (void *)stored_cb; }

/* A function pointer returned from C, to be called from Python. */
static int twice(int x) { return 2 * x; }

FT_EXPORT int (*ftcb_get_twice(void))(int) { return twice; }

FT_EXPORT void *ftcb_get_null(void) { return NULL; }

/* ---- Callbacks reached through memory Python filled: a structure field, an array. ---- */
struct ftcb_holder {
    int tag;
    int (*cb)(int);
};

FT_EXPORT int ftcb_call_held(const struct ftcb_holder *h, int x) { return h->cb(x) + h->tag; }

FT_EXPORT int ftcb_call_each(int (*const *cbs)(int), int n, int x)
{
    int total = 0;
    for (int i = 0; i < n; i++)
        total += cbs[i](x);
    return total;
}

/* An array parameter (a pointer in C) before an int: the callback may write into it. */
FT_EXPORT int ftcb_array_arg(int (*cb)(int *, int))
{
    int a[4] = {1, 2, 3, 4};
    return cb(a, 4) + a[0];
}

/* ---- pthreads calling a callback. ---- */
struct ftcb_job {
    void (*cb)(int);
    int index;
    int calls;
};

static void *ftcb_worker(void *arg)
{
    struct ftcb_job *job = arg;
    for (int i = 0; i < job->calls; i++)
        job->cb(job->index);
    return NULL;
}

/* Starts `threads` threads that each call cb(thread_index) `calls` times; returns
 * 0 when all were started and joined, else the number that failed to start. */
FT_EXPORT int ftcb_threads(void (*cb)(int), int threads, int calls)
{
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    struct ftcb_job *jobs = calloc((size_t)threads, sizeof *jobs);
    int failed = 0, started = 0;
    if (!ids || !jobs) {
        free(ids);
        free(jobs);
        return threads;
    }
    for (int t = 0; t < threads; t++) {
        jobs[t].cb = cb;
        jobs[t].index = t;
        jobs[t].calls = calls;
        if (pthread_create(&ids[t], NULL, ftcb_worker, &jobs[t]) == 0)
            started++;
        else
            failed++;
    }
    for (int t = 0; t < started; t++)
        pthread_join(ids[t], NULL);
    free(ids);
    free(jobs);
    return failed;
}

/* Starts a detached thread that calls cb(0) `calls` times, pausing `pause_us`
 * microseconds between calls: it may still be calling while the interpreter exits.
 * Returns 0 when the thread was started. */
struct ftcb_detached_job {
    void (*cb)(int);
    int calls;
    int pause_us;
};

static void *ftcb_detached_worker(void *arg)
{
    struct ftcb_detached_job job = *(struct ftcb_detached_job *)arg;
    free(arg);
    for (int i = 0; i < job.calls; i++) {
        job.cb(0);
        usleep((useconds_t)job.pause_us);
    }
    return NULL;
}

FT_EXPORT int ftcb_start_detached(void (*cb)(int), int calls, int pause_us)
{
    struct ftcb_detached_job *job = malloc(sizeof *job);
    pthread_t id;
    pthread_attr_t attr;
    if (!job)
        return -1;
    job->cb = cb;
    job->calls = calls;
    job->pause_us = pause_us;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&id, &attr, ftcb_detached_worker, job);
    pthread_attr_destroy(&attr);
    if (failed)
        free(job);
    return failed;
}

/* ---- A qsort-style user: insertion sort of ints with a comparator. ---- */
FT_EXPORT void ftcb_sort_ints(int *a, size_t n, int (*cmp)(const void *, const void *))
{
    for (size_t i = 1; i < n; i++) {
        int v = a[i];
        size_t j = i;
        while (j > 0 && cmp(&a[j - 1], &v) > 0) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

/* A callback that returns a pointer (an allocator), used to fill the memory. */
FT_EXPORT int ftcb_use_allocator(void *(*alloc)(size_t), size_t n)
{
    unsigned char *p = alloc(n);
    if (!p)
        return -1;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i + 1);
    return 0;
}

/* Slow C work that releases nothing: keeps a thread busy in C (no GIL). */
FT_EXPORT long ftcb_spin(long n)
{
    volatile long s = 0;
    for (long i = 0; i < n; i++)
        s += i;
    return s;
}

/* ---- The benchmark's qsort: copy `src` into `work`, sort it with libc's qsort
 * and the given comparator, return the smallest element. ---- */
FT_EXPORT int ftcb_qsort_ints(const int *src, int *work, size_t n,
                              int (*cmp)(const void *, const void *))
{
    for (size_t i = 0; i < n; i++)
        work[i] = src[i];
    qsort(work, n, sizeof *work, cmp);
    return n ? work[0] : 0;
}
