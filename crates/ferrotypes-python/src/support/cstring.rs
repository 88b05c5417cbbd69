//! C strings inside C data (a `c_char` or `c_wchar` array, a structure field of
//! one): read up to the first NUL, stored with a NUL after them when there is room —
//! the one place these rules are written.

/// The bytes of a C string held in `bytes`: up to the first NUL, or all of them.
/// (The C library's `memchr` reads several bytes per instruction: a byte loop costs
/// five instructions a character, the whole of `buf.value` for a short string.)
pub fn up_to_nul(bytes: &[u8]) -> &[u8] {
    // SAFETY: `memchr` reads at most `bytes.len()` bytes of the slice, and returns NULL
    // or a pointer into it.
    let nul = unsafe { libc::memchr(bytes.as_ptr().cast(), 0, bytes.len()) };
    let end = if nul.is_null() { bytes.len() } else { (nul as usize).wrapping_sub(bytes.as_ptr() as usize) };
    bytes.get(..end).unwrap_or(bytes)
}

/// Where the first NUL of `bytes` is when it is among the first eight bytes: one word
/// read and tested at once, for the short strings most buffers hold. `None` when the
/// first eight bytes hold none, or `bytes` is shorter (then see [`up_to_nul`]).
#[inline(always)]
pub fn nul_in_first_word(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let word = u64::from_le_bytes(*bytes.first_chunk::<8>()?);
    // The lowest byte with its high bit set marks the first zero byte (a borrow can
    // only mark bytes above a zero byte, never below one).
    let zeros = word.wrapping_sub(ONES) & !word & HIGHS;
    (zeros != 0).then(|| (zeros.trailing_zeros() / 8) as usize)
}

/// Copies `bytes` to `address`, followed by a NUL when `room` has space for one.
///
/// # Safety
/// `room` bytes must be writable at `address`, `bytes.len() <= room`, and `bytes`
/// must not overlap them.
pub unsafe fn store_with_nul(address: *mut u8, room: usize, bytes: &[u8]) {
    debug_assert!(bytes.len() <= room);
    // SAFETY: `bytes.len() <= room` writable bytes at `address`, not overlapping
    // `bytes` (the caller's promise); the NUL is written only inside `room`.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), address, bytes.len());
        if bytes.len() < room {
            address.add(bytes.len()).write(0);
        }
    }
}

/// Copies the wide characters in `bytes` to `address`, followed by a NUL wide
/// character when `room` bytes have space for one.
///
/// # Safety
/// As for [`store_with_nul`]; `bytes` holds whole wide characters.
pub unsafe fn store_wide_with_nul(address: *mut u8, room: usize, bytes: &[u8]) {
    const NUL: [u8; std::mem::size_of::<libc::wchar_t>()] = [0; std::mem::size_of::<libc::wchar_t>()];
    // SAFETY: the caller's promise, as store_with_nul requires.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), address, bytes.len()) };
    if room.checked_sub(bytes.len()).is_some_and(|left| left >= NUL.len()) {
        // SAFETY: the NUL lies inside `room` (checked above).
        unsafe { std::ptr::copy_nonoverlapping(NUL.as_ptr(), address.add(bytes.len()), NUL.len()) };
    }
}

/// The length, in wide characters, of the wide C string in the `chars` wide
/// characters at `address`: up to the first NUL, or all of them.
///
/// # Safety
/// `chars` wide characters must be readable at `address` (alignment not needed).
pub unsafe fn wide_len(address: *const libc::wchar_t, chars: usize) -> usize {
    // SAFETY: i < chars, inside the readable characters (the caller's promise).
    (0..chars).position(|i| unsafe { address.add(i).read_unaligned() } == 0).unwrap_or(chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_c_string_ends_at_the_first_nul() {
        assert_eq!(up_to_nul(b"ab\0cd"), b"ab");
        assert_eq!(up_to_nul(b"abc"), b"abc");
        assert_eq!(up_to_nul(b"\0"), b"");
        assert_eq!(up_to_nul(b""), b"");
    }

    #[test]
    fn the_first_word_finds_the_first_nul_of_its_eight_bytes() {
        // Every placement of up to two NULs (and 0x01/0x80 bytes, which the word test's
        // borrows and high bits could confuse with one) in nine bytes, against a scan.
        let fillers = [0x00u8, 0x01, 0x80, 0xff, b'a'];
        for first in 0..9 {
            for second in 0..9 {
                for &filler in &fillers {
                    let mut bytes = [filler; 9];
                    bytes[first] = 0;
                    bytes[second] = if second == first { 0 } else { 1 };
                    let scanned = bytes.iter().position(|&b| b == 0).filter(|&i| i < 8);
                    assert_eq!(nul_in_first_word(&bytes), scanned, "{bytes:?}");
                    assert_eq!(nul_in_first_word(&bytes[..8]), scanned, "{bytes:?}");
                }
            }
        }
        assert_eq!(nul_in_first_word(b"abc\0"), None); // shorter than a word
    }

    #[test]
    fn a_nul_follows_the_bytes_only_when_there_is_room() {
        let mut room = [7u8; 4];
        // SAFETY: four writable bytes, three copied.
        unsafe { store_with_nul(room.as_mut_ptr(), 4, b"abc") };
        assert_eq!(room, *b"abc\0");
        let mut full = [7u8; 3];
        // SAFETY: three writable bytes, three copied.
        unsafe { store_with_nul(full.as_mut_ptr(), 3, b"xyz") };
        assert_eq!(full, *b"xyz");
    }

    #[test]
    fn a_wide_nul_follows_the_characters_only_when_there_is_room() {
        let wide = |chars: &[libc::wchar_t]| chars.iter().flat_map(|c| c.to_ne_bytes()).collect::<Vec<u8>>();
        let mut room: [libc::wchar_t; 3] = [9; 3];
        // SAFETY: three writable wide characters, two copied.
        unsafe { store_wide_with_nul(room.as_mut_ptr().cast(), 12, &wide(&[65, 66])) };
        assert_eq!(room, [65, 66, 0]);
        let mut full: [libc::wchar_t; 2] = [9; 2];
        // SAFETY: two writable wide characters, two copied.
        unsafe { store_wide_with_nul(full.as_mut_ptr().cast(), 8, &wide(&[67, 68])) };
        assert_eq!(full, [67, 68]);
    }

    #[test]
    fn a_wide_string_ends_at_its_nul_or_its_room() {
        let text: [libc::wchar_t; 4] = [65, 66, 0, 67];
        // SAFETY: four readable wide characters.
        assert_eq!(unsafe { wide_len(text.as_ptr(), 4) }, 2);
        // SAFETY: two readable wide characters.
        assert_eq!(unsafe { wide_len(text.as_ptr(), 2) }, 2);
    }
}
