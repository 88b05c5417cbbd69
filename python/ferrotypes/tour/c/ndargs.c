/* The SciPy Cookbook's "ctypes" page, "NumPy's ndpointer with ctypes argtypes": the cookbook sets
 * `func.argtypes = [arg1, arg2, arg3, arg4, arg5]` without showing func.  This one adds the
 * first element of each array: a float32, three doubles, and a big-endian int32 (which C
 * decodes byte by byte, since arg5 is declared '>i4'). */

double func(const float *a1, const double *a2, const double *a3, const double *a4,
            const unsigned char *a5) {
    long be = ((long) a5[0] << 24) | ((long) a5[1] << 16) | ((long) a5[2] << 8) | (long) a5[3];
    if (be >= 0x80000000L)
        be -= 0x100000000L;
    return a1[0] + a2[0] + a3[0] + a4[0] + (double) be;
}
