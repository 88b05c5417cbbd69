/* From the tour's tutorial, "Scalars": the tutorial includes add_two.c without showing it; this is the
 * library its transcript implies.  The by-reference functions return 0, which is the
 * value the tutorial's REPL echoes for them. */

int add_int(int a, int b) {
    return a + b;
}

float add_float(float a, float b) {
    return a + b;
}

int add_int_ref(int *a, int *b, int *c) {
    *c = *a + *b;
    return 0;
}

int add_float_ref(float *a, float *b, float *c) {
    *c = *a + *b;
    return 0;
}
