//! Byte scans that the hot paths (decoding event frames, sanitising
//! output, recognising plain prose) run over every byte they see.
//!
//! The two searches test 16 bytes at a time with SSE2 on x86-64 (every
//! x86-64 processor has it): a line of output is a run of some 60 bytes
//! between two escapes. Elsewhere they test 8 bytes at a time with word
//! arithmetic (as serde_json does): in each test a flagged byte can flag
//! the ones above it through a carry or a borrow, but never those below,
//! so the lowest flag is always a real hit.

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
const ONES: u64 = u64::MAX / 255; // 0x0101..01
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
const HIGHS: u64 = ONES << 7; // 0x8080..80

/// High bit set in each byte below `n` (n <= 0x80); exact for the lowest.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS
}

/// High bit set in each byte equal to `b`; exact for the lowest.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn equal(x: u64, b: u8) -> u64 {
    below(x ^ (ONES * u64::from(b)), 1)
}

/// Offset of the lowest flagged word position, or of the first byte of the
/// tail (shorter than a word) for which `scalar` holds.
#[inline]
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn search(bytes: &[u8], flags: impl Fn(u64) -> u64, scalar: impl Fn(u8) -> bool) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let hits = flags(x);
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| scalar(b))
        .map(|n| at + n)
}

pub fn is_printable_ascii(b: u8) -> bool {
    b.wrapping_sub(0x20) < 0x5f
}

/// Length of the run of printable ASCII (0x20..=0x7e) that starts `bytes`.
#[cfg(target_arch = "x86_64")]
pub fn printable_ascii_len(bytes: &[u8]) -> usize {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_or_si128, _mm_set1_epi8};
    // Signed, bytes of 0x80 and above are negative: below 0x20 with them.
    let outside = |v: __m128i| unsafe {
        _mm_or_si128(
            _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)),
        )
    };
    sse2::search(bytes, outside, |b| !is_printable_ascii(b)).unwrap_or(bytes.len())
}

/// Length of the run of printable ASCII (0x20..=0x7e) that starts `bytes`.
#[cfg(not(target_arch = "x86_64"))]
pub fn printable_ascii_len(bytes: &[u8]) -> usize {
    words_printable_ascii_len(bytes)
}

/// [`printable_ascii_len`], 8 bytes at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn words_printable_ascii_len(bytes: &[u8]) -> usize {
    // Adding 1 carries a byte >= 0x7f into the high bit (0xff carries out,
    // but has the high bit already).
    let outside = |x: u64| below(x, 0x20) | ((x.wrapping_add(ONES) | x) & HIGHS);
    search(bytes, outside, |b| !is_printable_ascii(b)).unwrap_or(bytes.len())
}

/// Length of the run of lines of printable ASCII that starts `bytes`:
/// bytes 0x20..=0x7e and `\n`. A command's output is mostly that, and
/// taken whole it costs a scan instead of a step per line.
#[cfg(target_arch = "x86_64")]
pub fn ascii_lines_len(bytes: &[u8]) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let outside = |v: __m128i| unsafe {
        let newline = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
        // Signed, bytes of 0x80 and above are negative: below 0x20 with them.
        let control = _mm_andnot_si128(newline, _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
        _mm_or_si128(control, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)))
    };
    sse2::search(bytes, outside, |b| !is_ascii_lines_byte(b)).unwrap_or(bytes.len())
}

/// Length of the run of lines of printable ASCII that starts `bytes`.
#[cfg(not(target_arch = "x86_64"))]
pub fn ascii_lines_len(bytes: &[u8]) -> usize {
    words_ascii_lines_len(bytes)
}

/// [`ascii_lines_len`] from the printable runs: a newline ends them.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn words_ascii_lines_len(bytes: &[u8]) -> usize {
    let mut len = words_printable_ascii_len(bytes);
    while bytes.get(len) == Some(&b'\n') {
        len += 1 + words_printable_ascii_len(&bytes[len + 1..]);
    }
    len
}

fn is_ascii_lines_byte(b: u8) -> bool {
    is_printable_ascii(b) || b == b'\n'
}

/// Offset of the first byte that ends a run of JSON string content: `"`,
/// `\` or a control character.
#[cfg(target_arch = "x86_64")]
pub fn json_string_special(bytes: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_max_epu8, _mm_or_si128, _mm_set1_epi8};
    let special = |v: __m128i| unsafe {
        // max(b, 0x1f) == 0x1f exactly when b <= 0x1f.
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        _mm_or_si128(control, _mm_or_si128(quote, backslash))
    };
    sse2::search(bytes, special, |b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Offset of the first byte that ends a run of JSON string content: `"`,
/// `\` or a control character.
#[cfg(not(target_arch = "x86_64"))]
pub fn json_string_special(bytes: &[u8]) -> Option<usize> {
    words_json_string_special(bytes)
}

/// [`json_string_special`], 8 bytes at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn words_json_string_special(bytes: &[u8]) -> Option<usize> {
    let special = |x: u64| below(x, 0x20) | equal(x, b'"') | equal(x, b'\\');
    search(bytes, special, |b| b < 0x20 || b == b'"' || b == b'\\')
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_movemask_epi8};

    /// Offset of the first byte `flags` marks (0xff) in 16-byte blocks, or
    /// of the first byte of the tail (shorter than a block) for which
    /// `scalar` holds.
    #[inline(always)]
    pub fn search(
        bytes: &[u8],
        flags: impl Fn(__m128i) -> __m128i,
        scalar: impl Fn(u8) -> bool,
    ) -> Option<usize> {
        let mut blocks = bytes.chunks_exact(16);
        let mut at = 0;
        for block in blocks.by_ref() {
            // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes
            // of `block`, unaligned.
            let hits = unsafe {
                let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
                _mm_movemask_epi8(flags(v))
            };
            if hits != 0 {
                return Some(at + hits.trailing_zeros() as usize);
            }
            at += 16;
        }
        blocks
            .remainder()
            .iter()
            .position(|&b| scalar(b))
            .map(|n| at + n)
    }
}

/// True when `keep` holds for every byte of `bytes`. Branch-free over 16
/// bytes at a time, which the compiler turns into a vector compare: for
/// whole texts, where vectors do pay off.
pub fn all(bytes: &[u8], keep: impl Fn(u8) -> bool) -> bool {
    let mut chunks = bytes.chunks_exact(16);
    chunks.by_ref().all(|chunk| {
        let chunk: &[u8; 16] = chunk.try_into().expect("16 bytes");
        chunk.iter().fold(true, |all, &b| all & keep(b))
    }) && chunks.remainder().iter().all(|&b| keep(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position of buffers of every length up to
    /// five 8-byte words (two and a half 16-byte blocks), over a background of each class of byte.
    #[test]
    fn searches_agree_with_the_plain_tests() {
        for background in [b'a', b'~', 0xc3, b' ', b'\n'] {
            for len in 0..=40 {
                for at in 0..len {
                    for value in 0..=255u8 {
                        let mut bytes = vec![background; len];
                        bytes[at] = value;
                        let printable = bytes
                            .iter()
                            .position(|&b| !is_printable_ascii(b))
                            .unwrap_or(len);
                        assert_eq!(printable_ascii_len(&bytes), printable, "{bytes:?}");
                        assert_eq!(words_printable_ascii_len(&bytes), printable, "{bytes:?}");
                        let lines = bytes
                            .iter()
                            .position(|&b| !is_ascii_lines_byte(b))
                            .unwrap_or(len);
                        assert_eq!(ascii_lines_len(&bytes), lines, "{bytes:?}");
                        assert_eq!(words_ascii_lines_len(&bytes), lines, "{bytes:?}");
                        let special = bytes
                            .iter()
                            .position(|&b| b < 0x20 || b == b'"' || b == b'\\');
                        assert_eq!(json_string_special(&bytes), special, "{bytes:?}");
                        assert_eq!(words_json_string_special(&bytes), special, "{bytes:?}");
                        assert_eq!(all(&bytes, |b| b != 0), !bytes.contains(&0));
                    }
                }
            }
        }
    }

    /// The first position where the plain test fails, per scan.
    fn plain(bytes: &[u8]) -> (usize, Option<usize>) {
        let printable = bytes
            .iter()
            .position(|&b| !is_printable_ascii(b))
            .unwrap_or(bytes.len());
        let special = bytes
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\');
        (printable, special)
    }

    /// Random buffers of every length from 0 to 64: bytes drawn from the
    /// whole range (0x80 and above included), or mostly from printable
    /// ASCII with a rare other byte, so that hits land at every offset.
    /// The vector scans, the word scans and the plain tests must agree.
    #[test]
    fn searches_agree_on_random_buffers() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            // xorshift64*: the same sequence on every run.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32
        };
        for len in 0..=64 {
            for round in 0..2000 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = next();
                        match round % 3 {
                            0 => r as u8,
                            // One byte in 64 from the whole range.
                            _ if r % 64 == 0 => (r >> 8) as u8,
                            // Printable ASCII and newlines, or the high half.
                            1 if r % 16 == 1 => b'\n',
                            1 => 0x20 + (r >> 8) as u8 % 0x5f,
                            _ => 0x80 | (r >> 8) as u8,
                        }
                    })
                    .collect();
                let (printable, special) = plain(&bytes);
                let lines = bytes
                    .iter()
                    .position(|&b| !is_ascii_lines_byte(b))
                    .unwrap_or(bytes.len());
                assert_eq!(ascii_lines_len(&bytes), lines, "{bytes:?}");
                assert_eq!(words_ascii_lines_len(&bytes), lines, "{bytes:?}");
                assert_eq!(printable_ascii_len(&bytes), printable, "{bytes:?}");
                assert_eq!(words_printable_ascii_len(&bytes), printable, "{bytes:?}");
                assert_eq!(json_string_special(&bytes), special, "{bytes:?}");
                assert_eq!(words_json_string_special(&bytes), special, "{bytes:?}");
            }
        }
    }
}
