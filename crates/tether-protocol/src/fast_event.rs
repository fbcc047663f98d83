//! A shortcut for the frames a client receives most: events that carry
//! text (`output`, `assistant`, `assistant_delta`, `thinking`).
//!
//! serde_json spends most of its time on such frames unescaping the text
//! (every newline and colour sequence is an escape) and buffering the
//! internally tagged event before choosing its variant. This reader takes
//! those frames in one pass: keys in any order, any whitespace, but only
//! the fields these kinds have. Anything else (another kind, an unknown or
//! repeated field, a number that is not a plain `u64`, a lone surrogate, a
//! control character in a string, trailing bytes) is left to serde by
//! returning `None`, so the result never differs from serde's.

use std::borrow::Cow;

use super::events::{EventKind, EventRecord, OutputStream};

/// The event in `text`, when it is a text-carrying event frame this reader
/// takes; `None` sends the frame to serde.
pub fn decode_text_event(text: &str) -> Option<EventRecord> {
    let mut r = Reader { s: text, i: 0 };
    let (mut kind, mut seq, mut ts, mut event) = (None, None, None, None);
    r.object(|r, key| match key {
        "type" => once(&mut kind, r.string()),
        "seq" => once(&mut seq, r.u64()),
        "ts" => once(&mut ts, r.string().map(Cow::into_owned)),
        "event" => once(&mut event, r.event()),
        _ => None,
    })?;
    r.ws();
    (kind? == "event" && r.i == r.s.len()).then_some(())?;
    Some(EventRecord {
        seq: seq?,
        ts: ts?,
        event: event?,
    })
}

/// Stores a field's value. A repeated field (an error for serde) or a value
/// this reader does not take gives `None`.
fn once<T>(slot: &mut Option<T>, value: Option<T>) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value?);
    Some(())
}

struct Reader<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    fn ws(&mut self) {
        while matches!(self.bytes().get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (self.bytes().get(self.i) == Some(&byte)).then(|| self.i += 1)
    }

    /// `{ "key": value, ... }`, each value read by `member`.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.eat(b':')?;
            self.ws();
            member(self, &key)?;
            if self.eat(b'}').is_some() {
                return Some(());
            }
            self.eat(b',')?;
        }
    }

    /// The `event` object of a text-carrying kind.
    fn event(&mut self) -> Option<EventKind> {
        let (mut kind, mut stream, mut text) = (None, None, None);
        self.object(|r, key| match key {
            "kind" => once(&mut kind, r.string()),
            "stream" => {
                let value = r.string().and_then(|name| match &*name {
                    "stdout" => Some(OutputStream::Stdout),
                    "stderr" => Some(OutputStream::Stderr),
                    _ => None,
                });
                once(&mut stream, value)
            }
            "text" => once(&mut text, r.string().map(Cow::into_owned)),
            _ => None,
        })?;
        let text = text?;
        match (kind?.as_ref(), stream) {
            ("output", Some(stream)) => Some(EventKind::Output { stream, text }),
            ("assistant", None) => Some(EventKind::Assistant { text }),
            ("assistant_delta", None) => Some(EventKind::AssistantDelta { text }),
            ("thinking", None) => Some(EventKind::Thinking { text }),
            _ => None,
        }
    }

    /// A non-negative integer without sign, fraction or exponent.
    fn u64(&mut self) -> Option<u64> {
        let digits = self.bytes()[self.i..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = &self.s[self.i..self.i + digits];
        // JSON has no leading zeros; a fraction or exponent is serde's.
        let leading_zero = digits > 1 && text.starts_with('0');
        let fraction = matches!(self.bytes().get(self.i + digits), Some(b'.' | b'e' | b'E'));
        let plain = digits > 0 && !leading_zero && !fraction;
        self.i += digits;
        plain.then(|| text.parse().ok()).flatten()
    }

    /// A string, unescaped (borrowed when it has no escapes).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let bytes = self.bytes();
        (bytes.get(self.i) == Some(&b'"')).then_some(())?;
        self.i += 1;
        let mut out: Option<String> = None;
        loop {
            let from = self.i;
            self.i += crate::bytescan::json_string_special(&bytes[from..])?;
            let piece = &self.s[from..self.i];
            match bytes[self.i] {
                b'"' => {
                    self.i += 1;
                    return Some(match out {
                        None => Cow::Borrowed(piece),
                        Some(mut out) => {
                            out.push_str(piece);
                            Cow::Owned(out)
                        }
                    });
                }
                b'\\' => {
                    // Sized once for the rest of the raw string at most.
                    let out = out.get_or_insert_with(|| String::with_capacity(bytes.len() - from));
                    out.push_str(piece);
                    self.i += 1;
                    out.push(self.escape()?);
                }
                _ => return None, // a raw control character
            }
        }
    }

    /// The character of the escape after a backslash.
    fn escape(&mut self) -> Option<char> {
        let byte = *self.bytes().get(self.i)?;
        self.i += 1;
        Some(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4()?;
                if !(0xD800..0xDC00).contains(&high) {
                    // A lone low surrogate fails here: serde's error.
                    return char::from_u32(high);
                }
                // A high surrogate must be followed by its low half.
                (self.bytes().get(self.i..self.i + 2)? == b"\\u").then_some(())?;
                self.i += 2;
                let low = self.hex4()?;
                (0xDC00..0xE000).contains(&low).then_some(())?;
                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let hex = self.bytes().get(self.i..self.i + 4)?;
        self.i += 4;
        hex.iter().try_fold(0, |value, &b| {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return None,
            };
            Some(value << 4 | u32::from(digit))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerMessage;

    /// What serde makes of `frame`, as an event.
    fn serde_event(frame: &str) -> Option<EventRecord> {
        match serde_json::from_str::<ServerMessage>(frame) {
            Ok(ServerMessage::Event(record)) => Some(record),
            _ => None,
        }
    }

    #[test]
    fn takes_the_frames_the_host_writes() {
        for event in [
            EventKind::Output {
                stream: OutputStream::Stderr,
                text: "\u{1b}[31merror\u{1b}[0m: \"x\"\r\n\t\\ é 😀 \u{7f}".into(),
            },
            EventKind::Assistant {
                text: "plain".into(),
            },
            EventKind::AssistantDelta {
                text: String::new(),
            },
            EventKind::Thinking {
                text: "a\nb".into(),
            },
        ] {
            let record = EventRecord {
                seq: u64::MAX,
                ts: "2026-01-01T00:00:00.000Z".into(),
                event,
            };
            let frame = ServerMessage::Event(record.clone()).to_json();
            assert_eq!(decode_text_event(&frame), Some(record), "{frame}");
        }
    }

    #[test]
    fn leaves_everything_else_to_serde() {
        let frames = [
            // Another kind, an extra field, a repeated field, a bad stream.
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"interrupt","by":"a"}}"#,
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"assistant","text":"a","x":1}}"#,
            r#"{"type":"event","seq":1,"seq":2,"ts":"t","event":{"kind":"assistant","text":"a"}}"#,
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"output","stream":"x","text":"a"}}"#,
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"assistant","stream":"stdout","text":"a"}}"#,
            // Numbers serde reads differently or refuses.
            r#"{"type":"event","seq":01,"ts":"t","event":{"kind":"assistant","text":"a"}}"#,
            r#"{"type":"event","seq":1.0,"ts":"t","event":{"kind":"assistant","text":"a"}}"#,
            r#"{"type":"event","seq":1e2,"ts":"t","event":{"kind":"assistant","text":"a"}}"#,
            r#"{"type":"event","seq":-1,"ts":"t","event":{"kind":"assistant","text":"a"}}"#,
            r#"{"type":"event","seq":18446744073709551616,"ts":"t","event":{"kind":"assistant","text":"a"}}"#,
            // Strings serde refuses.
            "{\"type\":\"event\",\"seq\":1,\"ts\":\"t\",\"event\":{\"kind\":\"assistant\",\"text\":\"a\u{1}\"}}",
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"assistant","text":"\ud800"}}"#,
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"assistant","text":"\udc00"}}"#,
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"assistant","text":"\u+0041"}}"#,
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"assistant","text":"\x"}}"#,
            // Not an event, incomplete, trailing bytes, no type.
            r#"{"type":"caught_up","seq":1}"#,
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"assistant","text":"a"}"#,
            r#"{"type":"event","seq":1,"ts":"t","event":{"kind":"assistant","text":"a"}} x"#,
            r#"{"seq":1,"ts":"t","event":{"kind":"assistant","text":"a"}}"#,
        ];
        for frame in frames {
            assert_eq!(decode_text_event(frame), None, "{frame}");
        }
    }

    #[test]
    fn reads_any_order_and_spacing_like_serde() {
        let frame = " {\n \"event\" : { \"text\" : \"\\ud83d\\ude00 \\/ \\u00e9\" , \"kind\":\"thinking\" } ,\r\"ts\":\"t\",\t\"seq\" : 0, \"type\":\"event\" } ";
        let fast = decode_text_event(frame);
        assert!(fast.is_some());
        assert_eq!(fast, serde_event(frame));
    }

    /// Frames near the ones the host writes: a text event with a random
    /// text, then a few random insertions and deletions.
    fn near_miss() -> impl proptest::strategy::Strategy<Value = (String, bool)> {
        use proptest::prelude::*;
        let pieces = [
            "{",
            "}",
            ",",
            ":",
            " ",
            "\"",
            "\\",
            "\"type\"",
            "\"event\"",
            "\"seq\"",
            "7",
            "0",
            "-",
            ".5",
            "e3",
            "\"ts\"",
            "\"kind\"",
            "\"output\"",
            "\"thinking\"",
            "\"stream\"",
            "\"stderr\"",
            "\"text\"",
            "\\n",
            "\\u001b",
            "\\ud83d",
            "\\ude00",
            "\\uZZ",
            "\u{1}",
            "\u{e9}",
            "\"x\":1,",
            "\"seq\":7,",
            "\"text\":\"b\",",
            "\\ud83d\\u0041",
        ];
        // (where, what: None deletes a byte, snap to just after a `{` or `,`)
        let edit = (
            0.0..1.0f64,
            proptest::option::of(proptest::sample::select(pieces.to_vec())),
            proptest::bool::ANY,
        );
        (
            "[ -~\n\u{1b}\u{e9}\u{1f600}]{0,30}",
            0..3usize,
            proptest::collection::vec(edit, 0..4),
        )
            .prop_map(|(text, kind, edits)| {
                let event = match kind {
                    0 => EventKind::Output {
                        stream: OutputStream::Stdout,
                        text,
                    },
                    1 => EventKind::Assistant { text },
                    _ => EventKind::Thinking { text },
                };
                let record = EventRecord {
                    seq: 42,
                    ts: "t".into(),
                    event,
                };
                let mut frame = ServerMessage::Event(record).to_json();
                let untouched = edits.is_empty();
                for (at, piece, snap) in edits {
                    let mut at = (at * frame.len() as f64) as usize;
                    while !frame.is_char_boundary(at) {
                        at -= 1;
                    }
                    if snap {
                        at = frame[..at].rfind(['{', ',']).map_or(at, |p| p + 1);
                    }
                    match piece {
                        Some(piece) => frame.insert_str(at, piece),
                        None if at < frame.len() => {
                            frame.remove(at);
                        }
                        None => {}
                    }
                }
                (frame, untouched)
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]
        /// The shortcut takes every frame the host writes, and whenever it
        /// takes a frame serde reads the same event from it.
        #[test]
        fn agrees_with_serde((frame, untouched) in near_miss()) {
            let fast = decode_text_event(&frame);
            if untouched {
                proptest::prop_assert!(fast.is_some(), "{}", frame);
            }
            if fast.is_some() {
                proptest::prop_assert_eq!(fast, serde_event(&frame), "{}", frame);
            }
        }
    }
}
