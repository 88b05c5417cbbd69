/* The SciPy Cookbook's "ctypes" page, "Heterogeneous Types Example": sample.c, an array of structs
 * that a NumPy record array matches field by field. */
#include <stdio.h>

typedef struct Weather_t {
    int timestamp;
    char desc[12];
} Weather;

void print_weather(Weather *w, int nelems) {
    int i;
    for (i = 0; i < nelems; ++i) {
        printf("timestamp: %d\ndescription: %s\n\n", w[i].timestamp, w[i].desc);
    }
}
