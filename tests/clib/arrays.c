/* Array functions for tests/test_numpy.py: numpy arrays handed to C through
 * ferrotypes.numpy.ndpointer argtypes. */

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
