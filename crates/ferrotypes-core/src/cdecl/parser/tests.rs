//! Parser tests: declarations, layouts, macros, errors, real headers and random input.

use super::*;
use crate::cdecl::constexpr::int;
use crate::cdecl::fuzzing::{exercise, Mutator};

fn ok(src: &str) -> Parser {
    match parse(src, "<cdef>") {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn record_named(p: &Parser, tag: &str) -> usize {
    match p.tag(tag) {
        Some(Type::Record(i)) => i,
        other => panic!("no struct {tag}: {other:?}"),
    }
}

#[test]
fn functions_typedefs_and_variables() {
    let p = ok("typedef struct point { int x, y; } point;
                typedef int (*cmp_fn)(const void *, const void *);
                int point_dist2(point a, point b);
                extern int verbosity;
                void f(void); int g(); int printf(const char *, ...);
                extern int fscanf (void *__restrict __stream, const char *__restrict __format, ...) __asm__ (\"\" \"__isoc99_fscanf\");");
    assert_eq!(names(&p).len(), 8);
    let f = |n: &str| p.model.decls.iter().find(|d| d.name == n).unwrap().clone();
    match f("f").kind {
        DeclKind::Function { ty, .. } => assert!(ty.params.is_empty() && !ty.unspecified),
        k => panic!("{k:?}"),
    }
    match f("g").kind {
        DeclKind::Function { ty, .. } => assert!(ty.unspecified),
        k => panic!("{k:?}"),
    }
    match f("printf").kind {
        DeclKind::Function { ty, .. } => {
            assert!(ty.variadic);
            assert_eq!(
                ty.params[0].ty,
                Type::Pointer {
                    to: Box::new(Type::Int(IntKind::Char)),
                    to_const: true
                }
            );
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(f("fscanf").asm_label.as_deref(), Some("__isoc99_fscanf"));
    match p.model.resolve(&Type::Named("cmp_fn".into())) {
        Type::Pointer { to, .. } => assert!(matches!(**to, Type::Func(_))),
        t => panic!("{t:?}"),
    }
    assert!(matches!(f("verbosity").kind, DeclKind::Variable { .. }));
}

#[test]
fn declarators_nest_as_in_c() {
    let mut p = ok("void (*signal(int sig, void (*func)(int)))(int); int (*arr[3])[4];");
    let t = p.parse_type_name("int (*)(int)").unwrap();
    assert!(matches!(t, Type::Pointer { .. }));
    match &p.model.decls[0].kind {
        DeclKind::Function { ty, .. } => {
            assert_eq!(ty.params.len(), 2);
            assert!(matches!(ty.ret, Type::Pointer { .. }));
        }
        k => panic!("{k:?}"),
    }
    match &p.model.decls[1].kind {
        DeclKind::Variable {
            ty: Type::Array { of, len: Some(3) },
            ..
        } => {
            assert!(matches!(**of, Type::Pointer { .. }))
        }
        k => panic!("{k:?}"),
    }
    let t = p.parse_type_name("int (*[3])[4]").unwrap();
    assert_eq!(p.model.size_align(&t).unwrap().size, 24);
}

#[test]
fn layouts_follow_gcc() {
    let p = ok("struct bits { unsigned a:3; unsigned b:30; char c; };
                struct __attribute__((packed)) pk { char c; int i; };
                struct al { char c; int i __attribute__((aligned(16))); };
                struct al2 { char c; } __attribute__((aligned(8)));
                #pragma pack(push, 2)
                struct pp { char c; long l; };
                #pragma pack(pop)
                struct after { char c; long l; };
                struct flex { int n; double d[]; };
                struct anon { int k; union { int i; float f; }; };");
    let lay = |t: &str| p.model.record_layout(record_named(&p, t)).unwrap();
    assert_eq!((lay("bits").size, lay("bits").align), (12, 4));
    assert_eq!((lay("pk").size, lay("pk").align), (5, 1));
    assert_eq!(
        (lay("al").size, lay("al").align, lay("al").offsets[1]),
        (32, 16, 16)
    );
    assert_eq!((lay("al2").size, lay("al2").align), (8, 8));
    assert_eq!((lay("pp").size, lay("pp").align), (10, 2));
    assert_eq!((lay("after").size, lay("after").align), (16, 8));
    assert_eq!((lay("flex").size, lay("flex").offsets[1]), (8, 8));
    assert_eq!(lay("anon").size, 8);
}

#[test]
fn enums_take_the_type_gcc_gives_them() {
    let p = ok(
        "enum small { A, B = 5, C }; enum neg { N = -1 }; enum big { BIG = 0x100000000 };
                enum __attribute__((packed)) tiny { T = 200 };",
    );
    let e = |t: &str| match p.tag(t) {
        Some(Type::Enum(i)) => p.model.enums[i].clone(),
        o => panic!("{o:?}"),
    };
    assert_eq!(e("small").underlying, IntKind::UInt);
    assert_eq!(e("small").constants[2], ("C".to_string(), 6));
    assert_eq!(e("neg").underlying, IntKind::Int);
    assert_eq!(e("big").underlying, IntKind::ULong);
    assert_eq!(e("tiny").underlying, IntKind::UChar);
}

#[test]
fn macros_evaluate_as_c_does() {
    let mut p = ok("typedef struct { int a[5]; } z_stream;
                    enum { RED = 7 };
                    int deflateInit_(z_stream *s, int level, const char *v, int size);
                    #define VERSION \"1.2\" \".3\"
                    #define SHIFT (1u << 4)
                    #define NEG -1
                    #define CAST ((int)0x80)
                    #define UCHAR ((unsigned char)-1)
                    #define SIZE sizeof(z_stream)
                    #define TWICE(x) ((x) * 2)
                    #define USE_TWICE TWICE(SIZE)
                    #define PASTE(a, b) a ## b
                    #define PASTED PASTE(12, 34)
                    #define ENUMREF (RED + 1)
                    #define FLT 1e-3
                    #define HUGE (__builtin_huge_val())
                    #define CH 'a'
                    #define PTR ((void *)0)
                    #define deflateInit(strm, level) deflateInit_((strm), (level), VERSION, (int)sizeof(z_stream))
                    #define NOTCONST foo + 1
                    #define EMPTY
                    #undef EMPTY");
    let v = |p: &mut Parser, n: &str| match p.eval_macro(n) {
        Ok(MacroValue::Value(v)) => v,
        o => panic!("{n}: {o:?}"),
    };
    assert_eq!(v(&mut p, "VERSION"), Value::Str(b"1.2.3".to_vec()));
    assert_eq!(v(&mut p, "SHIFT"), Value::Int(16, IntKind::UInt));
    assert_eq!(v(&mut p, "NEG"), int(-1));
    assert_eq!(v(&mut p, "CAST"), int(128));
    assert_eq!(v(&mut p, "UCHAR"), Value::Int(255, IntKind::UChar));
    assert_eq!(v(&mut p, "SIZE"), Value::Int(20, IntKind::ULong));
    assert_eq!(v(&mut p, "USE_TWICE"), Value::Int(40, IntKind::ULong));
    assert_eq!(v(&mut p, "PASTED"), int(1234));
    assert_eq!(v(&mut p, "ENUMREF"), int(8));
    assert_eq!(v(&mut p, "FLT"), Value::Float(1e-3, FloatKind::Double));
    assert_eq!(
        v(&mut p, "HUGE"),
        Value::Float(f64::INFINITY, FloatKind::Double)
    );
    assert_eq!(v(&mut p, "CH"), int(97));
    assert_eq!(v(&mut p, "PTR"), Value::Ptr(0));
    match p.eval_macro("deflateInit") {
        Ok(MacroValue::Forward { function, args }) => {
            assert_eq!(function, "deflateInit_");
            assert_eq!(
                args,
                vec![
                    ForwardArg::Param(0),
                    ForwardArg::Param(1),
                    ForwardArg::Const(Value::Str(b"1.2.3".to_vec())),
                    ForwardArg::Const(int(20)),
                ]
            );
        }
        o => panic!("{o:?}"),
    }
    assert!(p.eval_macro("NOTCONST").unwrap_err().contains("foo"));
    assert!(p.eval_macro("TWICE").is_err());
    assert!(p.eval_macro("EMPTY").is_err());
}

#[test]
fn type_names_declare_nothing() {
    let mut p = ok("struct a { int x; };\n#define NUL ((struct undeclared *)0)\n");
    let records = p.model.records.len();
    let e = p.parse_type_name("struct nope *").unwrap_err();
    assert!(e.message.contains("struct nope is not declared"), "{e}");
    assert!(p.parse_type_name("struct b { int y; }").is_err());
    assert!(p.parse_type_name("enum e { E1 }").is_err());
    assert_eq!(p.eval_macro("NUL"), Ok(MacroValue::Value(Value::Ptr(0))));
    assert_eq!(p.model.records.len(), records);
    assert!(p.tag("nope").is_none() && p.tag("undeclared").is_none());
    assert!(!p.model.constants.contains_key("E1"));
    assert!(p.parse_type_name("struct a *").is_ok());
}

#[test]
fn gnu_extensions_parse() {
    let p = ok("__extension__ typedef __int128 i128; typedef unsigned __int128 u128;
                typedef float v4sf __attribute__((vector_size(16)));
                typedef int hi __attribute__((__mode__(__HI__)));
                extern __thread int tls; _Noreturn void die(void);
                static __inline __attribute__((__always_inline__)) int sq(int x) { if (x) { return x*x; } return 0; }
                _Static_assert(sizeof(int) == 4, \"int\");
                typedef __typeof__(sizeof(0)) size_t2; __typeof__(tls) tls2;
                typedef struct __attribute__((aligned(16))) X { _Alignas(8) char c; } X;
                enum __attribute__((packed)) E { E1 };
                _Float32 f32; _Float64x f64x; _Float128 q; __float128 q2; float _Complex fc;
                __builtin_va_list ap; int (__attribute__((cdecl)) *fp)(int);
                int __attribute__((nonnull(1))) nn(void *p, void *q) __attribute__((deprecated));
                struct s { int a; } __attribute__((packed)) inst;");
    let get = |n: &str| p.model.decls.iter().find(|d| d.name == n).unwrap().clone();
    let sz = |n: &str| p.model.size_align(&Type::Named(n.into())).unwrap().size;
    assert_eq!(sz("i128"), 16);
    assert_eq!(sz("v4sf"), 16);
    assert_eq!(sz("hi"), 2);
    assert_eq!(sz("size_t2"), 8);
    assert_eq!(
        p.model.size_align(&Type::Named("X".into())).unwrap().align,
        16
    );
    match get("nn").kind {
        DeclKind::Function {
            nonnull,
            deprecated,
            ..
        } => {
            assert_eq!(nonnull, vec![0]);
            assert!(deprecated);
        }
        k => panic!("{k:?}"),
    }
    assert!(matches!(
        get("sq").kind,
        DeclKind::Function {
            is_static: true,
            ..
        }
    ));
}

#[test]
fn errors_point_at_the_offending_token() {
    let e = parse("int x;\n# 7 \"hdr.h\"\nint f(int a,, int b);", "<cdef>")
        .err()
        .unwrap();
    assert_eq!((e.file.as_str(), e.line, e.column), ("hdr.h", 7, 13));
    assert!(
        e.to_string()
            .contains("int f(int a,, int b);\n            ^"),
        "{e}"
    );
    let e = parse("foo_t x;", "<cdef>").err().unwrap();
    assert!(e.message.contains("unknown type name 'foo_t'"), "{e}");
    let e = parse("#include <stdio.h>\n", "<cdef>").err().unwrap();
    assert!(e.message.contains("include"), "{e}");
    let e = parse("#ifdef X\n#endif\n", "<cdef>").err().unwrap();
    assert!(e.message.contains("conditionals"), "{e}");
    let e = parse("int f(int); double f(int, int);", "<cdef>")
        .err()
        .unwrap();
    assert!(e.message.contains("conflicting"), "{e}");
    assert!(parse("struct s { int a; }; struct s { int b; };", "<cdef>").is_err());
    assert!(parse("int a[1/0];", "<cdef>").is_err());
    assert!(parse("struct s { int a : 40; };", "<cdef>").is_err());
}

/// Headers of the yardstick, preprocessed by `cc -E`.
const HEADERS: &[&str] = &[
    "stdio.h",
    "stdlib.h",
    "string.h",
    "math.h",
    "time.h",
    "signal.h",
    "pthread.h",
    "sys/socket.h",
    "complex.h",
    "zlib.h",
    "sqlite3.h",
    "cblas.h",
    "gsl/gsl_integration.h",
    "gsl/gsl_odeiv2.h",
    "png.h",
    "expat.h",
    "lzma.h",
    "bzlib.h",
    "ffi.h",
    "Python.h",
];

fn preprocess(header: &str) -> Option<String> {
    let mut cmd = std::process::Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
    cmd.args(["-E", "-dD", "-x", "c", "-"]);
    if header == "Python.h" {
        let inc = std::process::Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['include'])",
            ])
            .output()
            .ok()?;
        cmd.arg(format!("-I{}", String::from_utf8_lossy(&inc.stdout).trim()));
    }
    let out = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("#include <{header}>\n").as_bytes())?;
            c.wait_with_output()
        })
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn yardstick_headers_parse() {
    let mut missing = Vec::new();
    for h in HEADERS {
        let Some(text) = preprocess(h) else {
            missing.push(*h);
            continue;
        };
        let mut p = match parse(&text, h) {
            Ok(p) => p,
            Err(e) => panic!("{h}: {e}"),
        };
        assert!(
            p.model.decls.len() > 10,
            "{h}: only {} declarations",
            p.model.decls.len()
        );
        for i in 0..p.model.records.len() {
            if p.model.records[i].fields.is_some() {
                p.model
                    .record_layout(i)
                    .unwrap_or_else(|e| panic!("{h}: {e}"));
            }
        }
        let evaluated = p
            .macro_names()
            .iter()
            .filter(|n| p.eval_macro(n).is_ok())
            .count();
        assert!(evaluated > 0, "{h}: no macro evaluated");
    }
    // The Debian packages of scripts/debian-packages.txt provide every one of them.
    assert!(
        missing.is_empty(),
        "headers not found (install scripts/debian-packages.txt): {missing:?}"
    );
}

/// A small deterministic generator (xorshift) so the random-input test needs no crate.
#[test]
fn random_input_never_panics() {
    let seeds = [
        "typedef struct s { int a:3; char b[4]; union { int c; }; } s_t; int f(s_t *, ...);",
        "enum e { A = 1 << 3, B = sizeof(int) }; #define M (A | B)\nvoid g(void (*)(int));",
        "struct __attribute__((packed)) p { char c; long l __attribute__((aligned(16))); };",
    ];
    let mut rng = Mutator::new(0x9e37_79b9_7f4a_7c15);
    let start = std::time::Instant::now();
    let budget = std::time::Duration::from_millis(
        std::env::var("FERROTYPES_FUZZ_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3000),
    );
    let mut runs = 0u64;
    while start.elapsed() < budget {
        let text = if rng.below(2) == 0 {
            let seed = seeds[rng.below(seeds.len())];
            rng.mutate(seed)
        } else {
            rng.pieces(60)
        };
        exercise(&text);
        runs += 1;
    }
    // Deep nesting must be an error, not a stack overflow.
    assert!(parse(
        &format!("int {}x{};", "(".repeat(100_000), ")".repeat(100_000)),
        "<deep>"
    )
    .is_err());
    assert!(parse(
        &format!("int a[{}1{}];", "(".repeat(100_000), ")".repeat(100_000)),
        "<deep>"
    )
    .is_err());
    assert!(parse(&format!("int {}x;", "*".repeat(1_000_000)), "<deep>").is_err());
    assert!(parse(&format!("int x{};", "[1]".repeat(1_000_000)), "<deep>").is_err());
    // A long chain of typedefs, each a pointer to the one before, stays fine.
    let chain: String = (1..5000)
        .map(|i| format!("typedef t{} *t{i};", i - 1))
        .collect();
    assert!(parse(&format!("typedef int t0; {chain}"), "<deep>").is_ok());
    eprintln!(
        "random_input_never_panics: {runs} inputs in {:?}",
        start.elapsed()
    );
}
