/* The SciPy Cookbook's "ctypes" page, "Fibonacci example": fibonacci.c, the Fibonacci numbers
 * computed recursively, singly and over int arrays. */

int fib(int a);
void fibseries(int *a, int elements, int *series);
void fibmatrix(int *a, int rows, int columns, int *matrix);

int fib(int a) {
    if (a <= 0) /* Error -- wrong input will return -1. */
        return -1;
    else if (a == 1)
        return 0;
    else if ((a == 2) || (a == 3))
        return 1;
    else
        return fib(a - 2) + fib(a - 1);
}

void fibseries(int *a, int elements, int *series) {
    int i;
    for (i = 0; i < elements; i++) {
        series[i] = fib(a[i]);
    }
}

void fibmatrix(int *a, int rows, int columns, int *matrix) {
    int i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < columns; j++) {
            matrix[i * columns + j] = fib(a[i * columns + j]);
        }
}
