/* Enums for tests/test_cdecl_enums.py (implemented in cdecl_enums.c), read both by the C
 * compiler and by ferrotypes.cdef: every integer type GCC gives an enum, enum parameters,
 * results, fields and arrays. */

enum ec_color { EC_RED, EC_GREEN = 5, EC_BLUE };
enum ec_neg { EC_MINUS = -1, EC_PLUS = 1 };
enum ec_big { EC_SMALL = 1, EC_HUGE = 0x100000000 };
enum ec_negbig { EC_LOW = -0x100000000, EC_HIGH = 1 };
enum ec_top { EC_TOP = 0xffffffffffffffff };
typedef enum { EC_A = 2, EC_B = 4 } ec_flag;
struct ec_paint { char tag; enum ec_color color; enum ec_big big; ec_flag flag; enum ec_neg neg; enum ec_color bits : 3; };
union ec_either { enum ec_negbig n; char c[3]; };

enum ec_color ec_next(enum ec_color c);
enum ec_big ec_big_times(enum ec_big b, int by);
enum ec_neg ec_negate(enum ec_neg n);
enum ec_top ec_top_minus(enum ec_top t, int by);
long long ec_paint_get(const struct ec_paint *p, int which);
void ec_paint_set(struct ec_paint *p, enum ec_color c, enum ec_big b, enum ec_neg n);
unsigned long ec_sum_colors(const enum ec_color *colors, int n);
struct ec_paint ec_paint_make(enum ec_color c, ec_flag f);
typedef enum ec_color (*ec_color_fn)(enum ec_color);
enum ec_color ec_apply(ec_color_fn f, enum ec_color c);
