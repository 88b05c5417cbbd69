//! `long double` as x86_64 stores it: the 80-bit x87 extended format in a 16-byte
//! slot. Conversions to and from `f64` round to nearest-even, as a C cast does.
//!
//! What it does not do: arithmetic, or other platforms' formats (aarch64 uses IEEE
//! binary128, which this module does not handle; the build refuses there).

// Bit manipulation of fixed-width values (an 80-bit extended float and an f64):
// every shift and index is a constant of the formats, within their widths.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

#[cfg(not(target_arch = "x86_64"))]
compile_error!("ferrotypes-core's long double support covers only x86_64's 80-bit format");

const F64_BIAS: i32 = 1023;
const F80_BIAS: i32 = 16383;

/// Encodes `x` exactly (every f64 is representable) as an 80-bit extended value in
/// the first 10 bytes of a 16-byte buffer; the rest is zero.
pub fn from_f64(x: f64) -> [u8; 16] {
    let bits = x.to_bits();
    let sign = (bits >> 63) as u16;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (e80, mant): (u16, u64) = if exp == 0x7ff {
        // Infinity keeps a zero fraction; NaN keeps its payload, quiet bit included.
        (0x7fff, (1u64 << 63) | (frac << 11))
    } else if exp == 0 {
        if frac == 0 {
            (0, 0)
        } else {
            // A subnormal double is a normal extended value: normalise it.
            let shift = frac.leading_zeros() - 11; // bring the top set bit to bit 52
            let e = 1 - F64_BIAS - shift as i32 + F80_BIAS;
            (e as u16, (frac << shift) << 11)
        }
    } else {
        ((exp - F64_BIAS + F80_BIAS) as u16, (1u64 << 63) | (frac << 11))
    };
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&mant.to_le_bytes());
    out[8..10].copy_from_slice(&(e80 | (sign << 15)).to_le_bytes());
    out
}

/// Decodes an 80-bit extended value, rounding to the nearest `f64` (ties to even),
/// overflowing to infinity and underflowing through subnormals to zero.
///
/// Encodings the x87 no longer accepts (a non-zero exponent with the explicit
/// integer bit clear: unnormals, pseudo-infinities, pseudo-NaNs) read as the FPU
/// reads them: as its "indefinite" NaN (sign bit set). Pseudo-denormals (exponent
/// zero, integer bit set) are still accepted by the FPU and decode by value.
pub fn to_f64(bytes: &[u8; 16]) -> f64 {
    let [b0, b1, b2, b3, b4, b5, b6, b7, ..] = *bytes;
    let mant = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
    let se = u16::from_le_bytes([bytes[8], bytes[9]]);
    let sign = if se & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e80 = (se & 0x7fff) as i32;
    if e80 != 0 && mant >> 63 == 0 {
        return -f64::NAN;
    }
    if e80 == 0x7fff {
        return if mant << 1 == 0 { sign * f64::INFINITY } else { f64::NAN.copysign(sign) };
    }
    if mant == 0 {
        return sign * 0.0;
    }
    // value = mant * 2^(e - 63), with e the unbiased exponent (denormals use 1 - bias).
    let e = if e80 == 0 { 1 - F80_BIAS } else { e80 - F80_BIAS };
    let top = 63 - mant.leading_zeros() as i32; // index of the highest set bit
    let unbiased = e - 63 + top; // exponent of the leading bit
    // Number of low bits to drop so that 53 bits remain (more when subnormal in f64).
    let min_normal = 1 - F64_BIAS;
    let keep = if unbiased < min_normal { 53 - (min_normal - unbiased) } else { 53 };
    if keep <= 0 {
        // Below half the smallest subnormal, or exactly around it: round.
        let half_ulp_exp = min_normal - 52 - 1;
        if keep == 0 && unbiased == half_ulp_exp && mant.count_ones() > 1 {
            return sign * f64::from_bits(1);
        }
        return sign * 0.0;
    }
    let drop = top + 1 - keep;
    let mut kept = if drop > 0 { mant >> drop } else { mant << -drop };
    if drop > 0 {
        let rem = mant & ((1u64 << drop) - 1);
        let half = 1u64 << (drop - 1);
        if rem > half || (rem == half && kept & 1 == 1) {
            kept += 1;
        }
    }
    // kept * 2^(unbiased - keep + 1 + (drop adjustments already in kept))
    let scale = unbiased - keep + 1;
    let magnitude = (kept as f64) * pow2(scale);
    sign * magnitude
}

/// 2^n for any n, without overflowing intermediate steps.
fn pow2(n: i32) -> f64 {
    let mut result = 1.0f64;
    let mut n = n;
    while n > 1000 {
        result *= f64::from_bits(((1000 + F64_BIAS) as u64) << 52);
        n -= 1000;
    }
    while n < -1000 {
        result *= f64::from_bits(((-1000 + F64_BIAS) as u64) << 52);
        n += 1000;
    }
    result * f64::from_bits(((n + F64_BIAS) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_class_of_double() {
        for x in [0.0, -0.0, 1.0, -2.5, 1e300, -1e-300, f64::MIN_POSITIVE, 5e-324, f64::MAX, f64::INFINITY, -f64::INFINITY] {
            assert_eq!(to_f64(&from_f64(x)).to_bits(), x.to_bits(), "{x}");
        }
        assert!(to_f64(&from_f64(f64::NAN)).is_nan());
    }

    #[test]
    fn rounds_to_nearest_even() {
        // 1 + 2^-53 is exactly halfway between 1 and the next double: ties to even (1).
        let mut b = from_f64(1.0);
        b[0] = 0x00;
        b[1] |= 0x04; // set mantissa bit 10: 2^-53 relative to the leading bit 63
        assert_eq!(to_f64(&b), 1.0);
        b[0] = 0x01; // a little more than halfway rounds up
        assert_eq!(to_f64(&b), 1.0 + f64::EPSILON);
    }

    #[test]
    fn invalid_encodings_read_as_the_indefinite_nan() {
        let raw = |mant: u64, se: u16| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&mant.to_le_bytes());
            b[8..10].copy_from_slice(&se.to_le_bytes());
            b
        };
        for b in [raw(0, 0x100), raw(1 << 62, 0x3fff), raw(0, 0x7fff), raw(1, 0x7fff)] {
            let x = to_f64(&b);
            assert!(x.is_nan() && x.is_sign_negative(), "{b:?}");
        }
        // A pseudo-denormal is still a number: 2^-16382.
        assert_eq!(to_f64(&raw(1 << 63, 0)), 0.0);
        assert_eq!(to_f64(&raw(1 << 63, 0x3fff)), 1.0);
    }

    #[test]
    fn matches_x87_bit_patterns() {
        // 1.0 is 0x3fff:8000000000000000 and -2.0 is 0xc000:8000000000000000 in x87.
        let one = from_f64(1.0);
        assert_eq!(u64::from_le_bytes(one[..8].try_into().unwrap()), 1 << 63);
        assert_eq!(u16::from_le_bytes([one[8], one[9]]), 0x3fff);
        let m2 = from_f64(-2.0);
        assert_eq!(u16::from_le_bytes([m2[8], m2[9]]), 0xc000);
    }
}
