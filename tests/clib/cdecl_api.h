/* Declarations of tests/clib/cdecl_lib.c, written to be read both by the C compiler and
 * by ferrotypes.cdef (so: no #include, no conditionals). Each one exercises something
 * C declarations can say that hand-written ctypes bindings get wrong. */

#define CD_VERSION "cd" "-1.0"
#define CD_SHIFT (1u << 4)
#define CD_MASK (CD_SHIFT - 1)
#define CD_NEG -1
#define CD_CAST ((unsigned char)0x1ff)
#define CD_SIGNED_CAST ((int)0x80)
#define CD_SIZE ((int)sizeof(struct cd_bits))
#define CD_CHAR 'A'
#define CD_FLOAT 1e-3
#define CD_BIG_SHIFT (1ULL << 40)

struct cd_bits { unsigned a : 3; unsigned b : 30; signed c : 5; char d; unsigned long long e : 40; };
struct __attribute__((packed)) cd_packed { char c; int i; short s; };
struct cd_aligned { char c; int i __attribute__((aligned(16))); short s; };
struct cd_aligned_record { char c; } __attribute__((aligned(8)));
#pragma pack(push, 2)
struct cd_pragma { char c; long l; int i; };
#pragma pack(pop)
struct cd_after_pack { char c; long l; };
struct cd_anon { int kind; union { int i; double d; }; struct { short lo, hi; }; };
struct cd_flex { int n; double data[]; };
enum cd_big { CD_SMALL = 1, CD_LARGE = 0x100000000 };
enum cd_color { CD_RED, CD_GREEN = 5, CD_BLUE };
typedef int (*cd_binop)(int, int);
typedef struct cd_node { int value; struct cd_node *next; } cd_node;
struct cd_later;
struct cd_holder { struct cd_later *p; };
struct cd_later { int x; };

extern int cd_verbosity;
int cd_get_verbosity(void);
int cd_apply(cd_binop op, int a, int b);
int cd_sum_ints(int count, ...);
double cd_flex_sum(const struct cd_flex *f);
double cd_anon_sum(const struct cd_anon *a);
long long cd_bits_get(const struct cd_bits *b, int which);
unsigned long cd_big_value(enum cd_big e);
enum cd_color cd_next_color(enum cd_color c);
int cd_list_sum(const cd_node *n);
int cd_init_(struct cd_packed *p, int value, const char *version, int size);
#define cd_init(p, v) cd_init_((p), (v), CD_VERSION, (int)sizeof(struct cd_packed))
const char *cd_name(void);
char *cd_strdup(const char *s);
void cd_free(void *p);
unsigned long cd_byte_sum(const unsigned char *data, unsigned long n);
void cd_fill(unsigned char *out, unsigned long n, int value);
struct cd_wide { char c; __int128 big; double _Complex z; _Float128 q; };
struct cd_zero_width { char a; int : 0; char b; };
struct cd_char_bits { char a : 3; signed char b : 4; unsigned char c : 1; _Bool d : 1; };
struct cd_aligned_bits { int x : 3; unsigned y : 7; } __attribute__((aligned(16)));
