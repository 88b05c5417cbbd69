//! Typed values of C constant expressions and their arithmetic: integer literals typed as C
//! types them, the usual arithmetic conversions, wrap-around of unsigned types, and floats.
//! The parser drives it (it knows type names and identifiers); this module knows no syntax
//! beyond literals.

use super::lexer::unescape;
use super::model::{FloatKind, IntKind};

/// The value of a constant expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An integer of a C integer type (the value is within the type's range).
    Int(i128, IntKind),
    /// A floating value; the kind says which C type it has.
    Float(f64, FloatKind),
    /// A string literal's bytes (without the terminating NUL).
    Str(Vec<u8>),
    /// An address cast to a pointer type (`((void *)0)`, `((sqlite3_destructor_type)-1)`).
    Ptr(u64),
}

/// Shorthand for an `int`.
pub fn int(v: i128) -> Value {
    Value::Int(v, IntKind::Int)
}

impl Value {
    /// Whether the value counts as true in a condition.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Int(v, _) => *v != 0,
            Value::Float(f, _) => *f != 0.0,
            Value::Str(_) => true,
            Value::Ptr(p) => *p != 0,
        }
    }

    /// The value as an integer (for array sizes, bit widths, enum values).
    pub fn as_int(&self) -> Result<i128, String> {
        match self {
            Value::Int(v, _) => Ok(*v),
            Value::Ptr(p) => Ok(*p as i128),
            Value::Float(..) => Err("expected an integer constant, got a floating one".into()),
            Value::Str(_) => Err("expected an integer constant, got a string".into()),
        }
    }

    /// Converts to integer type `k` (a cast).
    pub fn cast_int(&self, k: IntKind) -> Result<Value, String> {
        match self {
            Value::Int(v, _) => Ok(Value::Int(k.wrap(*v), k)),
            Value::Ptr(p) => Ok(Value::Int(k.wrap(*p as i128), k)),
            Value::Float(f, _) => {
                if !f.is_finite() {
                    return Err(format!("cannot convert {f} to {}", k.c_name()));
                }
                Ok(Value::Int(k.wrap(f.trunc() as i128), k))
            }
            Value::Str(_) => Err("cannot convert a string to an integer".into()),
        }
    }

    /// Converts to floating type `k`.
    pub fn cast_float(&self, k: FloatKind) -> Result<Value, String> {
        let f = match self {
            Value::Int(v, _) => *v as f64,
            Value::Float(f, _) => *f,
            _ => return Err("cannot convert this value to a floating type".into()),
        };
        Ok(Value::Float(
            if k == FloatKind::Float {
                f as f32 as f64
            } else {
                f
            },
            k,
        ))
    }

    /// Converts to a pointer.
    pub fn cast_ptr(&self) -> Result<Value, String> {
        match self {
            Value::Int(v, _) => Ok(Value::Ptr(*v as u64)),
            Value::Ptr(p) => Ok(Value::Ptr(*p)),
            _ => Err("cannot convert this value to a pointer".into()),
        }
    }
}

/// Integer promotion: types below `int` become `int`.
pub fn promote(k: IntKind) -> IntKind {
    if k.rank() < IntKind::Int.rank() {
        IntKind::Int
    } else {
        k
    }
}

/// The usual arithmetic conversions of two integer types.
pub fn common_int(a: IntKind, b: IntKind) -> IntKind {
    let (a, b) = (promote(a), promote(b));
    if a == b {
        return a;
    }
    if a.signed() == b.signed() {
        return if a.rank() >= b.rank() { a } else { b };
    }
    let (s, u) = if a.signed() { (a, b) } else { (b, a) };
    if u.rank() >= s.rank() {
        u
    } else if s.size() > u.size() {
        s
    } else {
        s.to_unsigned()
    }
}

fn float_rank(k: FloatKind) -> u8 {
    match k {
        FloatKind::Float => 0,
        FloatKind::Double => 1,
        _ => 2,
    }
}

/// A binary operator applied to two values, as C does it.
pub fn binary(op: &str, a: &Value, b: &Value) -> Result<Value, String> {
    use Value::*;
    match (a, b) {
        (Int(x, xk), Int(y, yk)) => {
            if op == "<<" || op == ">>" {
                let k = promote(*xk);
                let bits = (k.size() * 8) as i128;
                if *y < 0 || *y >= bits {
                    return Err(format!(
                        "shift count {y} is out of range for {}",
                        k.c_name()
                    ));
                }
                let v = if op == "<<" {
                    x.wrapping_shl(*y as u32)
                } else {
                    x >> *y
                };
                return Ok(Int(k.wrap(v), k));
            }
            if op == "&&" || op == "||" {
                let r = if op == "&&" {
                    *x != 0 && *y != 0
                } else {
                    *x != 0 || *y != 0
                };
                return Ok(int(r as i128));
            }
            let k = common_int(*xk, *yk);
            let (x, y) = (k.wrap(*x), k.wrap(*y));
            let cmp = |r: bool| Ok(int(r as i128));
            let v = match op {
                "+" => x.wrapping_add(y),
                "-" => x.wrapping_sub(y),
                "*" => x.wrapping_mul(y),
                "/" | "%" => {
                    if y == 0 {
                        return Err("division by zero in a constant expression".into());
                    }
                    if op == "/" {
                        x.wrapping_div(y)
                    } else {
                        x.wrapping_rem(y)
                    }
                }
                "&" => x & y,
                "|" => x | y,
                "^" => x ^ y,
                "<" => return cmp(x < y),
                ">" => return cmp(x > y),
                "<=" => return cmp(x <= y),
                ">=" => return cmp(x >= y),
                "==" => return cmp(x == y),
                "!=" => return cmp(x != y),
                _ => return Err(format!("operator '{op}' is not allowed here")),
            };
            Ok(Int(k.wrap(v), k))
        }
        (Float(..), _) | (_, Float(..)) => {
            let (x, xk) = to_f(a)?;
            let (y, yk) = to_f(b)?;
            let k = if float_rank(xk) >= float_rank(yk) {
                xk
            } else {
                yk
            };
            let cmp = |r: bool| Ok(int(r as i128));
            let v = match op {
                "+" => x + y,
                "-" => x - y,
                "*" => x * y,
                "/" => x / y,
                "<" => return cmp(x < y),
                ">" => return cmp(x > y),
                "<=" => return cmp(x <= y),
                ">=" => return cmp(x >= y),
                "==" => return cmp(x == y),
                "!=" => return cmp(x != y),
                "&&" => return cmp(x != 0.0 && y != 0.0),
                "||" => return cmp(x != 0.0 || y != 0.0),
                _ => return Err(format!("operator '{op}' needs integer operands")),
            };
            Ok(Float(
                if k == FloatKind::Float {
                    v as f32 as f64
                } else {
                    v
                },
                k,
            ))
        }
        (Ptr(_), _) | (_, Ptr(_)) => {
            let x = a.cast_int(IntKind::ULong)?;
            let y = b.cast_int(IntKind::ULong)?;
            match binary(op, &x, &y)? {
                Int(v, IntKind::ULong) if matches!(op, "+" | "-" | "&" | "|") => Ok(Ptr(v as u64)),
                v => Ok(v),
            }
        }
        _ => Err(format!("operator '{op}' cannot take a string")),
    }
}

fn to_f(v: &Value) -> Result<(f64, FloatKind), String> {
    match v {
        Value::Int(x, _) => Ok((*x as f64, FloatKind::Double)),
        Value::Float(f, k) => Ok((*f, *k)),
        _ => Err("expected a number".into()),
    }
}

/// A unary operator.
pub fn unary(op: &str, a: &Value) -> Result<Value, String> {
    match a {
        Value::Int(x, k) => {
            let k2 = promote(*k);
            Ok(match op {
                "-" => Value::Int(k2.wrap(x.wrapping_neg()), k2),
                "+" => Value::Int(*x, k2),
                "~" => Value::Int(k2.wrap(!x), k2),
                "!" => int((*x == 0) as i128),
                _ => return Err(format!("unknown operator '{op}'")),
            })
        }
        Value::Float(f, k) => Ok(match op {
            "-" => Value::Float(-f, *k),
            "+" => Value::Float(*f, *k),
            "!" => int((*f == 0.0) as i128),
            _ => return Err(format!("operator '{op}' needs an integer operand")),
        }),
        Value::Ptr(p) if op == "!" => Ok(int((*p == 0) as i128)),
        _ => Err(format!("operator '{op}' cannot take this operand")),
    }
}

/// Parses an integer or floating literal as C types it.
pub fn number(text: &str) -> Result<Value, String> {
    let t: String = text.chars().filter(|c| *c != '\'').collect();
    let lower = t.to_ascii_lowercase();
    let is_hex = lower.starts_with("0x");
    let is_float = if is_hex {
        lower.contains('.') || lower.contains('p')
    } else {
        lower.contains('.')
            || lower.contains('e')
            || lower.ends_with("f") && !lower.starts_with("0b")
            || lower.contains("f16")
            || lower.contains("f32")
            || lower.contains("f64")
            || lower.contains("f128")
    };
    if is_float {
        return float_literal(&lower, text);
    }
    let digits_end = lower
        .find(|c: char| {
            if is_hex {
                !(c.is_ascii_hexdigit() || c == 'x')
            } else {
                !(c.is_ascii_digit() || c == 'b')
            }
        })
        .unwrap_or(lower.len());
    let (digits, suffix) = lower.split_at(digits_end);
    let (radix, body) = if is_hex {
        (16, &digits[2..])
    } else if let Some(b) = digits.strip_prefix("0b") {
        (2, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    let v = u128::from_str_radix(body, radix).map_err(|_| format!("invalid number '{text}'"))?;
    let unsigned = suffix.contains('u');
    let longs = suffix.matches('l').count();
    if suffix.chars().any(|c| !matches!(c, 'u' | 'l')) || longs > 2 {
        return Err(format!("invalid suffix on number '{text}'"));
    }
    use IntKind::*;
    let candidates: &[IntKind] = match (unsigned, longs, radix == 10) {
        (false, 0, true) => &[Int, Long],
        (false, 0, false) => &[Int, UInt, Long, ULong],
        (false, 1, true) => &[Long],
        (false, 1, false) => &[Long, ULong],
        (false, _, true) => &[LongLong],
        (false, _, false) => &[LongLong, ULongLong],
        (true, 0, _) => &[UInt, ULong],
        (true, 1, _) => &[ULong],
        (true, _, _) => &[ULongLong],
    };
    let v = i128::try_from(v).map_err(|_| format!("number '{text}' is too large"))?;
    for k in candidates {
        if k.holds(v) {
            return Ok(Value::Int(v, *k));
        }
    }
    // GCC gives an over-large decimal literal `unsigned long` (with a warning).
    if ULong.holds(v) {
        Ok(Value::Int(v, ULong))
    } else {
        Err(format!("number '{text}' is too large for any integer type"))
    }
}

fn float_literal(lower: &str, text: &str) -> Result<Value, String> {
    let (body, kind) = if let Some(b) = lower
        .strip_suffix("f128")
        .or_else(|| lower.strip_suffix("f64x"))
    {
        (b, FloatKind::Float128)
    } else if let Some(b) = lower
        .strip_suffix("f32x")
        .or_else(|| lower.strip_suffix("f64"))
    {
        (b, FloatKind::Double)
    } else if let Some(b) = lower
        .strip_suffix("f32")
        .or_else(|| lower.strip_suffix("f16"))
    {
        (b, FloatKind::Float)
    } else if let Some(b) = lower
        .strip_suffix('f')
        .filter(|_| !lower.starts_with("0x") || lower.contains('p'))
    {
        (b, FloatKind::Float)
    } else if let Some(b) = lower.strip_suffix('l') {
        (b, FloatKind::LongDouble)
    } else {
        (lower, FloatKind::Double)
    };
    let f = if let Some(h) = body.strip_prefix("0x") {
        hex_float(h).ok_or_else(|| format!("invalid number '{text}'"))?
    } else {
        body.parse::<f64>()
            .map_err(|_| format!("invalid number '{text}'"))?
    };
    Ok(Value::Float(
        if kind == FloatKind::Float {
            f as f32 as f64
        } else {
            f
        },
        kind,
    ))
}

fn hex_float(h: &str) -> Option<f64> {
    let (mant, exp) = h.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// A character constant: `int` for plain ones (as in C), `wchar_t`-sized for `L'x'`.
pub fn character(prefix: &str, body: &str) -> Result<Value, String> {
    let bytes = unescape(body)?;
    if bytes.is_empty() {
        return Err("empty character constant".into());
    }
    match prefix {
        "" => {
            // Multi-character constants pack bytes big-endian, as GCC does.
            let mut v: i128 = 0;
            for b in &bytes {
                v = (v << 8) | *b as i128;
            }
            let v = if bytes.len() == 1 {
                bytes[0] as i8 as i128
            } else {
                IntKind::Int.wrap(v)
            };
            Ok(int(v))
        }
        _ => {
            let s = String::from_utf8_lossy(&bytes);
            let c = s.chars().next().map_or(0, |c| c as i128);
            let k = match prefix {
                "L" => IntKind::Int,
                "u" => IntKind::UShort,
                "u8" => IntKind::UChar,
                _ => IntKind::UInt,
            };
            Ok(Value::Int(k.wrap(c), k))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_typed_as_c_types_them() {
        assert_eq!(number("42").unwrap(), Value::Int(42, IntKind::Int));
        assert_eq!(
            number("2147483648").unwrap(),
            Value::Int(2147483648, IntKind::Long)
        );
        assert_eq!(
            number("0x80000000").unwrap(),
            Value::Int(0x80000000, IntKind::UInt)
        );
        assert_eq!(number("1u").unwrap(), Value::Int(1, IntKind::UInt));
        assert_eq!(number("10UL").unwrap(), Value::Int(10, IntKind::ULong));
        assert_eq!(number("077").unwrap(), Value::Int(63, IntKind::Int));
        assert_eq!(number("0b101").unwrap(), Value::Int(5, IntKind::Int));
        assert_eq!(
            number("1e-3").unwrap(),
            Value::Float(1e-3, FloatKind::Double)
        );
        assert_eq!(
            number("0x1p-2").unwrap(),
            Value::Float(0.25, FloatKind::Double)
        );
        assert_eq!(number("1.5f").unwrap(), Value::Float(1.5, FloatKind::Float));
        assert!(number("12abc").is_err());
        assert!(number("0xffffffffffffffffffffffffffffffffff").is_err());
    }

    #[test]
    fn arithmetic_follows_the_usual_conversions() {
        let m1 = unary("-", &int(1)).unwrap();
        let u = Value::Int(1, IntKind::UInt);
        // -1 < 1u is false in C: -1 converts to UINT_MAX.
        assert_eq!(binary("<", &m1, &u).unwrap(), int(0));
        assert_eq!(
            binary("<<", &u, &int(4)).unwrap(),
            Value::Int(16, IntKind::UInt)
        );
        assert_eq!(
            binary("-", &Value::Int(0, IntKind::UInt), &u).unwrap(),
            Value::Int(0xffff_ffff, IntKind::UInt)
        );
        assert_eq!(binary("/", &int(7), &int(-2)).unwrap(), int(-3));
        assert!(binary("/", &int(1), &int(0)).is_err());
        assert!(binary("<<", &int(1), &int(40)).is_err());
        assert_eq!(
            int(0x80).cast_int(IntKind::SChar).unwrap(),
            Value::Int(-128, IntKind::SChar)
        );
        assert_eq!(common_int(IntKind::Long, IntKind::UInt), IntKind::Long);
        assert_eq!(
            common_int(IntKind::LongLong, IntKind::ULong),
            IntKind::ULongLong
        );
    }

    #[test]
    fn characters_are_ints() {
        assert_eq!(character("", "a").unwrap(), int(97));
        assert_eq!(character("", "\\n").unwrap(), int(10));
        assert_eq!(character("", "\\377").unwrap(), int(-1));
        assert_eq!(character("", "ab").unwrap(), int(0x6162));
    }
}
