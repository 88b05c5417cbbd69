/*
 * callbacks.c - C that calls function pointers it is given: the callback half of
 * the ferrotypes test library (compiled into the same shared library as fttest.c
 * by tests/clib/build.py).
 *
 * Every exported symbol is prefixed ftcb_.  C99 plus POSIX threads.
 */
#include <pthread.h>
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

/* The callback writes through the pointer it is given. */
FT_EXPORT int ftcb_out(void (*cb)(int *), int start)
{
    int v = start;
    cb(&v);
    return v;
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
