//! Byte scans that the hot paths (decoding event frames, sanitising
//! output, recognising plain prose) run over every byte they see.
//!
//! The two searches test 8 bytes at a time with word arithmetic (as
//! serde_json does): runs between escapes are often a few bytes long, too
//! short for vectors to pay off. In each test a flagged byte can flag the
//! ones above it through a carry or a borrow, but never those below, so
//! the lowest flag is always a real hit.

const ONES: u64 = u64::MAX / 255; // 0x0101..01
const HIGHS: u64 = ONES << 7; // 0x8080..80

/// High bit set in each byte below `n` (n <= 0x80); exact for the lowest.
fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS
}

/// High bit set in each byte equal to `b`; exact for the lowest.
fn equal(x: u64, b: u8) -> u64 {
    below(x ^ (ONES * u64::from(b)), 1)
}

/// Offset of the lowest flagged word position, or of the first byte of the
/// tail (shorter than a word) for which `scalar` holds.
#[inline]
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
pub fn printable_ascii_len(bytes: &[u8]) -> usize {
    // Adding 1 carries a byte >= 0x7f into the high bit (0xff carries out,
    // but has the high bit already).
    let outside = |x: u64| below(x, 0x20) | ((x.wrapping_add(ONES) | x) & HIGHS);
    search(bytes, outside, |b| !is_printable_ascii(b)).unwrap_or(bytes.len())
}

/// Offset of the first byte that ends a run of JSON string content: `"`,
/// `\` or a control character.
pub fn json_string_special(bytes: &[u8]) -> Option<usize> {
    let special = |x: u64| below(x, 0x20) | equal(x, b'"') | equal(x, b'\\');
    search(bytes, special, |b| b < 0x20 || b == b'"' || b == b'\\')
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
    /// three words, over a background of each class of byte.
    #[test]
    fn searches_agree_with_the_plain_tests() {
        for background in [b'a', b'~', 0xc3, b' '] {
            for len in 0..=24 {
                for at in 0..len {
                    for value in 0..=255u8 {
                        let mut bytes = vec![background; len];
                        bytes[at] = value;
                        let printable = bytes
                            .iter()
                            .position(|&b| !is_printable_ascii(b))
                            .unwrap_or(len);
                        assert_eq!(printable_ascii_len(&bytes), printable, "{bytes:?}");
                        let special = bytes
                            .iter()
                            .position(|&b| b < 0x20 || b == b'"' || b == b'\\');
                        assert_eq!(json_string_special(&bytes), special, "{bytes:?}");
                        assert_eq!(all(&bytes, |b| b != 0), !bytes.contains(&0));
                    }
                }
            }
        }
    }
}
