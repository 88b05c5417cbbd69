/* From the tour's tutorial, "Arrays": the tutorial includes arrays.c without showing it; its `nm` listing
 * names add_float_array and dot_product, and its array example needs an element-wise
 * integer addition of n elements, add_int_array. */

void add_int_array(int *a, int *b, int *c, int n) {
    for (int i = 0; i < n; i++)
        c[i] = a[i] + b[i];
}

void add_float_array(float *a, float *b, float *c, int n) {
    for (int i = 0; i < n; i++)
        c[i] = a[i] + b[i];
}

int dot_product(int *a, int *b, int n) {
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}
