//! What the sanitiser does without vte (see the module's documentation):
//! runs of text that print as themselves, and complete colour sequences.

use crate::bytescan::printable_ascii_len;

use super::{ESC, is_bidi_or_separator};

/// The run of text at the start of `input` that prints as itself:
/// printable ASCII and characters from U+00A0 on that are not bidi
/// controls or separators (none of those is a control character: the
/// Unicode category of controls is fixed at C0, DEL and C1). Its length in
/// bytes, and whether it is all ASCII (then its width is its length).
pub(super) fn plain_run(input: &str) -> (usize, bool) {
    let bytes = input.as_bytes();
    let mut len = 0;
    let mut ascii = true;
    loop {
        len += printable_ascii_len(&bytes[len..]);
        let Some(&lead) = bytes.get(len) else { break };
        let size = match lead {
            0..=0x7f => break,
            // C1 controls and the bidi characters (see the test) are all
            // behind these lead bytes: only those characters are decoded.
            0xc2 | 0xd8 | 0xe2 => {
                let c = input[len..].chars().next().expect("at a char boundary");
                if c < '\u{a0}' || is_bidi_or_separator(c) {
                    break;
                }
                c.len_utf8()
            }
            0xc3..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        ascii = false;
        len += size;
    }
    (len, ascii)
}

/// The numbers of a simple SGR sequence.
pub(super) struct SgrParams {
    pub values: [u16; 16],
    pub count: usize,
}

/// A complete `ESC [ n;n;... m` at the start of `bytes` (at most 16
/// numbers of at most 4 digits): its length and its numbers, as vte would
/// report them (an empty parameter is 0). Anything else is left to vte.
pub(super) fn plain_sgr(bytes: &[u8]) -> Option<(usize, SgrParams)> {
    if bytes.len() < 3 || bytes[0] != ESC || bytes[1] != b'[' {
        return None;
    }
    let mut params = SgrParams {
        values: [0; 16],
        count: 1,
    };
    let mut digits = 0;
    for (at, &b) in bytes.iter().enumerate().skip(2).take(64) {
        match b {
            b'0'..=b'9' if digits < 4 => {
                let slot = &mut params.values[params.count - 1];
                *slot = *slot * 10 + u16::from(b - b'0');
                digits += 1;
            }
            b';' if params.count < 16 => {
                params.count += 1;
                digits = 0;
            }
            b'm' => return Some((at + 1, params)),
            _ => return None,
        }
    }
    None
}
