/* From the tour's tutorial, "Calling a Simple C Function From Python": the tutorial's first fcpytest.c.
 * The tutorial rebuilds the same libcpytest.so for each version of fcpytest.c; the tour
 * builds one library per version (libcpytest_hello, libcpytest_pars, libcpytest_callback),
 * because one process cannot dlopen two different files by the same relative path. */
#include <stdio.h>

void fcpytest(void) {
    printf("Hello World\n");
}
