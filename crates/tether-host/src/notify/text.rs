//! Agent text made fit to leave the host in an alert: no escape
//! sequences, no control or bidirectional-override characters, one line,
//! and cut.

/// `text` without escape sequences (CSI, OSC, DCS and the other strings,
/// two-character escapes, their C1 forms), control characters (line
/// breaks and tabs become spaces) and bidirectional overrides, with runs
/// of spaces made one, trimmed, and cut to `chars` characters (an ellipsis
/// marks a cut).
pub fn clean(text: &str, chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(chars * 4));
    let mut rest = text.chars().peekable();
    let mut kept = 0;
    while let Some(c) = rest.next() {
        let c = match c {
            '\x1b' => {
                skip_escape(&mut rest);
                continue;
            }
            '\u{9b}' => {
                skip_csi(&mut rest);
                continue;
            }
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                skip_string(&mut rest);
                continue;
            }
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() || crate::host::server::query::is_bidi_control(c) => continue,
            c => c,
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        if kept == chars {
            let trimmed = out.trim_end().len();
            out.truncate(trimmed);
            out.push('…');
            return out;
        }
        out.push(c);
        kept += 1;
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After ESC: the rest of the sequence it starts.
fn skip_escape(rest: &mut Chars) {
    match rest.next() {
        Some('[') => skip_csi(rest),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(rest),
        // Intermediate bytes, then the final one (`ESC ( B`).
        Some(' '..='/') => {
            while rest.next_if(|c| matches!(c, ' '..='/')).is_some() {}
            rest.next();
        }
        _ => {}
    }
}

/// Parameters and intermediates up to the final byte (`@` to `~`).
fn skip_csi(rest: &mut Chars) {
    for c in rest.by_ref() {
        if matches!(c, '@'..='~') {
            return;
        }
    }
}

/// An OSC, DCS, SOS, PM or APC string: up to BEL, ST (`ESC \`) or C1 ST.
fn skip_string(rest: &mut Chars) {
    while let Some(c) = rest.next() {
        match c {
            '\x07' | '\u{9c}' => return,
            '\x1b' => {
                rest.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn escapes_controls_and_overrides_are_removed() {
        let hostile = "\x1b[31mred\x1b[0m \x1b]0;title\x07\x1b]52;c;aGk=\x1b\\ok\u{9b}2J \
                       \x1bP1;2|x\x1b\\done\x1b(B \u{202e}evil\u{2066} bell\x07 nul\0";
        assert_eq!(clean(hostile, 200), "red ok done evil bell nul");
    }

    #[test]
    fn lines_become_one_and_long_text_is_cut() {
        assert_eq!(clean("  make\n\ttest  \r\n", 50), "make test");
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean("ab cdef", 3), "ab…");
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("éèà", 2), "éè…");
    }

    #[test]
    fn an_unterminated_sequence_swallows_only_itself() {
        assert_eq!(clean("before\x1b]0;never ends", 50), "before");
        assert_eq!(clean("before\x1b", 50), "before");
    }
}
