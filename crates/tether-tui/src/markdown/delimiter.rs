//! Finding the next inline delimiter (`` ` ``, `*`, `_`) in a line.
//!
//! The pieces between delimiters are short, so most searches end within a
//! few bytes: the first words are tested with word arithmetic (exact for
//! every byte: no carry crosses a byte), which costs less than setting up
//! a vector search; longer stretches go to `memchr3`.

const ONES: u64 = u64::MAX / 255;
const LOW7: u64 = ONES * 0x7f;
/// Words tested before handing over to `memchr3`.
const WORDS: usize = 4;

/// The high bit of each byte of `x` that is zero.
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// The offset of the first delimiter in `bytes`.
pub(super) fn find(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for word in bytes.chunks_exact(8).take(WORDS) {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let hits = zero_bytes(x ^ (ONES * u64::from(b'`')))
            | zero_bytes(x ^ (ONES * u64::from(b'*')))
            | zero_bytes(x ^ (ONES * u64::from(b'_')));
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    memchr::memchr3(b'`', b'*', b'_', &bytes[at..]).map(|n| at + n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_what_memchr3_finds() {
        for background in [b'a', b'`' ^ 1, b'*' ^ 1, b'_' ^ 1, 0x80 | b'*', 0xff, 0] {
            for len in 0..=48usize {
                for at in 0..=len {
                    for delimiter in [b'`', b'*', b'_'] {
                        let mut bytes = vec![background; len];
                        if at < len {
                            bytes[at] = delimiter;
                        }
                        let expected = memchr::memchr3(b'`', b'*', b'_', &bytes);
                        assert_eq!(super::find(&bytes), expected, "{bytes:?}");
                    }
                }
            }
        }
    }
}
