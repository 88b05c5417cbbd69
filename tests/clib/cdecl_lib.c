/* The C library behind tests/test_cdecl.py: its declarations (cdecl_api.h) are what
 * ferrotypes.cdef reads; these definitions check what Python passes. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cdecl_api.h"

int cd_verbosity = 0;

int cd_get_verbosity(void) { return cd_verbosity; }

int cd_apply(cd_binop op, int a, int b) { return op(a, b); }

int cd_sum_ints(int count, ...)
{
    va_list ap;
    int total = 0;
    va_start(ap, count);
    for (int i = 0; i < count; i++)
        total += va_arg(ap, int);
    va_end(ap);
    return total;
}

double cd_flex_sum(const struct cd_flex *f)
{
    double total = 0;
    for (int i = 0; i < f->n; i++)
        total += f->data[i];
    return total;
}

double cd_anon_sum(const struct cd_anon *a)
{
    return (a->kind ? a->d : a->i) + a->lo + a->hi;
}

long long cd_bits_get(const struct cd_bits *b, int which)
{
    switch (which) {
    case 0: return b->a;
    case 1: return b->b;
    case 2: return b->c;
    case 3: return b->d;
    default: return (long long)b->e;
    }
}

unsigned long cd_big_value(enum cd_big e) { return (unsigned long)e; }

enum cd_color cd_next_color(enum cd_color c) { return c == CD_RED ? CD_GREEN : CD_BLUE; }

int cd_list_sum(const cd_node *n)
{
    int total = 0;
    for (; n; n = n->next)
        total += n->value;
    return total;
}

int cd_init_(struct cd_packed *p, int value, const char *version, int size)
{
    if (strcmp(version, CD_VERSION) != 0 || size != (int)sizeof(struct cd_packed))
        return -1;
    p->c = 'x';
    p->i = value;
    p->s = (short)size;
    return 0;
}

const char *cd_name(void) { return "cdecl"; }

char *cd_strdup(const char *s) { return strdup(s); }

void cd_free(void *p) { free(p); }

unsigned long cd_byte_sum(const unsigned char *data, unsigned long n)
{
    unsigned long total = 0;
    for (unsigned long i = 0; i < n; i++)
        total += data[i];
    return total;
}

void cd_fill(unsigned char *out, unsigned long n, int value) { memset(out, value, n); }
