/* The SciPy Cookbook's "ctypes" page, "foo.cpp": bar() prints the doubles it is given.
 * Written as C; the export macro is kept for Windows only (the cookbook's non-Windows
 * `#define FOO_API extern` would make `extern FOO_API` a duplicate `extern`). */
#include <stdio.h>

#ifdef _WIN32
#define FOO_API __declspec(dllexport)
#else
#define FOO_API
#endif

FOO_API int bar(double *data, int len) {
    int i;
    printf("data = %p\n", (void *) data);
    for (i = 0; i < len; i++) {
        printf("data[%d] = %f\n", i, data[i]);
    }
    printf("len = %d\n", len);
    return len + 1;
}
