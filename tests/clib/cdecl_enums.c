/* The functions of cdecl_enums.h: each returns what C received, or something computed
 * from it, so that the tests see the C side's view of enum values. */
#include "cdecl_enums.h"

enum ec_color ec_next(enum ec_color c) { return (enum ec_color)(c + 1); }
enum ec_big ec_big_times(enum ec_big b, int by) { return (enum ec_big)(b * by); }
enum ec_neg ec_negate(enum ec_neg n) { return (enum ec_neg)-n; }
enum ec_top ec_top_minus(enum ec_top t, int by) { return (enum ec_top)(t - by); }

long long ec_paint_get(const struct ec_paint *p, int which) {
    switch (which) {
    case 0: return p->color;
    case 1: return (long long)p->big;
    case 2: return p->flag;
    case 3: return p->neg;
    default: return p->bits;
    }
}

void ec_paint_set(struct ec_paint *p, enum ec_color c, enum ec_big b, enum ec_neg n) {
    p->color = c;
    p->big = b;
    p->neg = n;
}

unsigned long ec_sum_colors(const enum ec_color *colors, int n) {
    unsigned long sum = 0;
    for (int i = 0; i < n; i++) sum += colors[i];
    return sum;
}

struct ec_paint ec_paint_make(enum ec_color c, ec_flag f) {
    struct ec_paint p = {'p', c, EC_HUGE, f, EC_MINUS, EC_BLUE};
    return p;
}

enum ec_color ec_apply(ec_color_fn f, enum ec_color c) { return f(c); }
