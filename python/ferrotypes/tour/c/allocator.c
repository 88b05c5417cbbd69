/* The SciPy Cookbook's "ctypes" page, the Allocator class: one callback that allocates arrays of
 * several types, chosen by a NumPy type character.  The cookbook's func() takes "..."
 * before the allocator; here that is a start value.  It allocates the cookbook's
 * 2x3x4 doubles and, where the cookbook says "allocate more arrays here", five ints and
 * a 2x2 float array. */

typedef void *(*allocator_t)(int, int *, char);

void func(double start, allocator_t allocator) {
    int dims[] = {2, 3, 4};
    double *data = (double *) allocator(3, dims, 'd');
    for (int i = 0; i < 2 * 3 * 4; i++)
        data[i] = start + i;

    int count[] = {5};
    int *squares = (int *) allocator(1, count, 'i');
    for (int i = 0; i < 5; i++)
        squares[i] = i * i;

    int square[] = {2, 2};
    float *halves = (float *) allocator(2, square, 'f');
    for (int i = 0; i < 4; i++)
        halves[i] = i / 2.0f;
}
