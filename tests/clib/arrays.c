/* Array functions for tests/test_numpy.py and tests/test_zero_copy.py: numpy arrays and
 * other buffers handed to C through pointer and ndpointer argtypes. */

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) || defined(__CYGWIN__)
#  define FT_EXPORT __declspec(dllexport)
#else
#  define FT_EXPORT __attribute__((visibility("default")))
#endif

FT_EXPORT double ftnp_sum_doubles(const double *values, size_t n)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += values[i];
    return total;
}

FT_EXPORT void ftnp_scale_ints(int *values, size_t n, int factor)
{
    for (size_t i = 0; i < n; i++)
        values[i] *= factor;
}

/* Row sums of a C-contiguous rows x cols matrix of doubles, written to out[rows]. */
FT_EXPORT void ftnp_row_sums(const double *matrix, size_t rows, size_t cols, double *out)
{
    for (size_t r = 0; r < rows; r++) {
        double total = 0.0;
        for (size_t c = 0; c < cols; c++)
            total += matrix[r * cols + c];
        out[r] = total;
    }
}

/* Returns its argument: lets a test see an ndpointer restype turn an address into an array. */
FT_EXPORT void *ftnp_same_pointer(void *p)
{
    return p;
}

/* ---- Zero-copy arguments (tests/test_zero_copy.py): arrays of every numeric type
 * handed to C without copying. ftzc_twice_T doubles each element in place (so the
 * test sees C wrote into the caller's memory), ftzc_sum_T adds them up. */

#define FTZC_NUMERIC(NAME, T)                                             \
    FT_EXPORT void ftzc_twice_##NAME(T *values, size_t n)                 \
    {                                                                     \
        for (size_t i = 0; i < n; i++)                                    \
            values[i] = (T)(values[i] * 2);                               \
    }                                                                     \
    FT_EXPORT double ftzc_sum_##NAME(const T *values, size_t n)           \
    {                                                                     \
        double total = 0.0;                                               \
        for (size_t i = 0; i < n; i++)                                    \
            total += (double)values[i];                                   \
        return total;                                                     \
    }

FTZC_NUMERIC(int8, int8_t)
FTZC_NUMERIC(uint8, uint8_t)
FTZC_NUMERIC(int16, int16_t)
FTZC_NUMERIC(uint16, uint16_t)
FTZC_NUMERIC(int32, int32_t)
FTZC_NUMERIC(uint32, uint32_t)
FTZC_NUMERIC(int64, int64_t)
FTZC_NUMERIC(uint64, uint64_t)
FTZC_NUMERIC(float, float)
FTZC_NUMERIC(double, double)
FTZC_NUMERIC(longdouble, long double)

/* Negates each truth value. */
FT_EXPORT void ftzc_not_bool(_Bool *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        values[i] = !values[i];
}

/* Complex conjugates in place: n (real, imaginary) pairs, as C99 complex numbers and
 * numpy's complex64/complex128 lay them out. */
FT_EXPORT void ftzc_conj_cfloat(float *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pairs[2 * i + 1] = -pairs[2 * i + 1];
}

FT_EXPORT void ftzc_conj_cdouble(double *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pairs[2 * i + 1] = -pairs[2 * i + 1];
}

/* Calls cb while C holds p: lets a test act on the memory during the call. */
FT_EXPORT int ftzc_call_with(void *p, int (*cb)(void))
{
    (void)p;
    return cb();
}
