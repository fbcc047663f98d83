//! Reading one journal line cheaply: its seq and event kind from the fixed
//! prefix our own serialiser writes, a full parse only when the event
//! changes session state or the prefix is not the usual one.

use serde::de::IgnoredAny;

use crate::protocol::{EventRecord, ServerMessage};

const EVENT_PREFIX: &[u8] = br#"{"type":"event","seq":"#;

/// Event kinds that change nothing a restart must rebuild (pending
/// requests, agent state, the open turn, the title): their lines are only
/// checked to be well-formed, not decoded.
const STATELESS_KINDS: &[&[u8]] = &[
    b"output",
    b"assistant",
    b"assistant_delta",
    b"thinking",
    b"tool_use",
    b"tool_result",
    b"notice",
];

/// What a journal line holds.
#[derive(Debug, PartialEq)]
pub enum JournalLine {
    /// A well-formed event that changes no session state.
    Stateless { seq: u64 },
    /// An event, decoded (it may change session state).
    Decoded(Box<EventRecord>),
    /// Not an event frame: damaged or torn.
    Damaged,
}

/// The seq and where the rest starts, from the fixed prefix.
fn prefix_seq(line: &[u8]) -> Option<(u64, &[u8])> {
    let rest = line.strip_prefix(EVENT_PREFIX)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b',') {
        return None;
    }
    let seq = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    Some((seq, &rest[digits..]))
}

/// The seq of an event frame, read from its fixed prefix when possible.
pub fn frame_seq(line: &[u8]) -> Option<u64> {
    if let Some((seq, _)) = prefix_seq(line) {
        return Some(seq);
    }
    match serde_json::from_slice(line).ok()? {
        ServerMessage::Event(record) => Some(record.seq),
        _ => None,
    }
}

/// What the journal adds at the end of each frame: `,"sum":"XXXXXXXX"}`,
/// the CRC-32 (hex) of every byte before it. The line stays one JSON
/// object (older builds and recordings read it; clients ignore the field).
const SUM_KEY: &[u8] = br#","sum":""#;
const SUM_LEN: usize = SUM_KEY.len() + 8 + 2;

/// Appends `frame` (an event frame, one JSON object) to `out` as a journal
/// line, sealed with its checksum (no newline).
pub fn seal(frame: &[u8], out: &mut Vec<u8>) {
    let body = frame.strip_suffix(b"}").unwrap_or(frame);
    out.extend_from_slice(body);
    out.extend_from_slice(SUM_KEY);
    out.extend_from_slice(format!("{:08x}", crc32fast::hash(body)).as_bytes());
    out.extend_from_slice(b"\"}");
}

/// What a line's checksum says.
#[derive(Debug, PartialEq, Eq)]
pub enum Sum {
    /// It holds; the frame is the line's first `body` bytes and a `}`.
    Holds { body: usize },
    /// The line has none (an older build wrote it).
    Absent,
    /// It does not hold: a byte changed since it was written.
    Broken,
}

/// Checks the checksum at the end of a journal line.
pub fn check_sum(line: &[u8]) -> Sum {
    let Some(body) = line.len().checked_sub(SUM_LEN) else {
        return Sum::Absent;
    };
    let (front, tail) = line.split_at(body);
    let Some(hex) = tail
        .strip_prefix(SUM_KEY)
        .and_then(|t| t.strip_suffix(b"\"}"))
    else {
        return Sum::Absent;
    };
    let recorded = std::str::from_utf8(hex)
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok());
    match recorded {
        Some(sum) if sum == crc32fast::hash(front) => Sum::Holds { body },
        _ => Sum::Broken,
    }
}

/// The event frame a journal line holds, without its checksum: the line
/// itself from an older build. `None` when the checksum does not hold.
pub fn unsealed(mut line: Vec<u8>) -> Option<Vec<u8>> {
    match check_sum(&line) {
        Sum::Holds { body } => {
            line.truncate(body);
            line.push(b'}');
            Some(line)
        }
        Sum::Absent => Some(line),
        Sum::Broken => None,
    }
}

/// The event kind after the seq: `,"ts":"…","event":{"kind":"KIND"`.
fn sniff_kind(after_seq: &[u8]) -> Option<&[u8]> {
    let ts = after_seq.strip_prefix(br#","ts":""#)?;
    let ts_end = memchr::memchr2(b'"', b'\\', ts)?;
    let rest = ts[ts_end..].strip_prefix(br#"","event":{"kind":""#)?;
    let kind_end = memchr::memchr2(b'"', b'\\', rest)?;
    (rest[kind_end] == b'"').then_some(&rest[..kind_end])
}

/// Reads one line (without its newline). Stateless kinds with the usual
/// prefix cost a syntax check, unless `sealed` (its checksum held: it is
/// the frame our serialiser wrote); everything else is decoded in full.
pub fn read_line(line: &[u8], sealed: bool) -> JournalLine {
    if let Some((seq, rest)) = prefix_seq(line)
        && let Some(kind) = sniff_kind(rest)
        && STATELESS_KINDS.contains(&kind)
    {
        // Text, as every frame must be (a replay sends lines as they are).
        let well_formed = sealed
            || std::str::from_utf8(line)
                .is_ok_and(|text| serde_json::from_str::<IgnoredAny>(text).is_ok());
        return if well_formed {
            JournalLine::Stateless { seq }
        } else {
            JournalLine::Damaged
        };
    }
    match serde_json::from_slice(line) {
        Ok(ServerMessage::Event(record)) => JournalLine::Decoded(Box::new(record)),
        _ => JournalLine::Damaged,
    }
}

impl JournalLine {
    pub fn seq(&self) -> Option<u64> {
        match self {
            JournalLine::Stateless { seq } => Some(*seq),
            JournalLine::Decoded(record) => Some(record.seq),
            JournalLine::Damaged => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_line_checks_and_a_flipped_byte_does_not() {
        let frame = br#"{"type":"event","seq":7,"ts":"t","event":{"kind":"notice","level":"info","text":"hi"}}"#;
        let mut line = Vec::new();
        seal(frame, &mut line);
        assert!(line.ends_with(b"\"}"));
        let parsed: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(parsed["seq"], 7, "still one JSON object");
        assert_eq!(unsealed(line.clone()).as_deref(), Some(&frame[..]));
        assert_eq!(frame_seq(&line), Some(7));
        for at in [20, 40, line.len() - 5] {
            let mut flipped = line.clone();
            flipped[at] ^= 0x01;
            assert_eq!(check_sum(&flipped), Sum::Broken, "byte {at}");
        }
        // An older build's line has no checksum and is taken as it is.
        assert_eq!(check_sum(frame), Sum::Absent);
        assert_eq!(unsealed(frame.to_vec()).as_deref(), Some(&frame[..]));
    }
    use crate::protocol::{AgentState, EventKind, NoticeLevel, OutputStream};

    fn frame(seq: u64, event: EventKind) -> Vec<u8> {
        ServerMessage::Event(EventRecord {
            seq,
            ts: "2026-01-01T00:00:00.000Z".into(),
            event,
        })
        .to_json()
        .into_bytes()
    }

    #[test]
    fn frame_seq_reads_the_prefix() {
        let notice = frame(42, EventKind::notice(NoticeLevel::Info, "n"));
        assert_eq!(frame_seq(&notice), Some(42));
        assert_eq!(
            frame_seq(
                br#"{"seq":7,"type":"event","ts":"t","event":{"kind":"interrupt","by":"a"}}"#
            ),
            Some(7)
        );
        assert_eq!(frame_seq(b"garbage"), None);
    }

    #[test]
    fn output_is_only_checked_and_state_events_are_decoded() {
        let output = EventKind::Output {
            stream: OutputStream::Stdout,
            text: "a \"quoted\"\n\u{1b}[1mline".into(),
        };
        assert_eq!(
            read_line(&frame(3, output), false),
            JournalLine::Stateless { seq: 3 }
        );
        let status = EventKind::status(AgentState::Idle);
        let JournalLine::Decoded(record) = read_line(&frame(4, status.clone()), false) else {
            panic!("a status is decoded")
        };
        assert_eq!((record.seq, &record.event), (4, &status));
        // Another key order: no prefix, so a full decode.
        let other = br#"{"seq":7,"type":"event","ts":"t","event":{"kind":"output","stream":"stdout","text":"x"}}"#;
        assert!(matches!(read_line(other, false), JournalLine::Decoded(r) if r.seq == 7));
    }

    /// One event of every kind the restart does not decode.
    fn stateless_samples() -> Vec<EventKind> {
        vec![
            EventKind::Output {
                stream: OutputStream::Stderr,
                text: "e".into(),
            },
            EventKind::Assistant { text: "a".into() },
            EventKind::AssistantDelta { text: "d".into() },
            EventKind::Thinking { text: "t".into() },
            EventKind::ToolUse {
                tool_use_id: "u".into(),
                name: "Bash".into(),
                input: serde_json::json!({}),
            },
            EventKind::ToolResult {
                tool_use_id: "u".into(),
                content: "c".into(),
                is_error: false,
            },
            EventKind::notice(NoticeLevel::Warn, "w"),
        ]
    }

    #[test]
    fn the_kinds_left_undecoded_change_no_session_state() {
        use crate::host::session::{AgentTraits, At, Session, SessionConfig};
        let traits = AgentTraits {
            takes_input: true,
            queues_input: false,
            takes_updated_input: true,
        };
        let mut session = Session::new(SessionConfig::sample(traits, 100));
        let before = session.summary(std::time::Instant::now());
        let samples = stateless_samples();
        for (n, event) in samples.iter().enumerate() {
            let line = frame(n as u64 + 1, event.clone());
            assert_eq!(
                read_line(&line, false),
                JournalLine::Stateless { seq: n as u64 + 1 },
                "{event:?} is one of STATELESS_KINDS"
            );
            let record = EventRecord {
                seq: n as u64 + 1,
                ts: "t".into(),
                event: event.clone(),
            };
            session.restore_state(&record);
        }
        assert_eq!(
            samples.len(),
            STATELESS_KINDS.len(),
            "a sample of each kind"
        );
        assert_eq!(session.summary(std::time::Instant::now()), before);
        // No turn was opened and no request is pending.
        assert!(session.finish_restore(None, At::now()).is_empty());
    }

    #[test]
    fn damage_is_seen_even_in_lines_that_are_not_decoded() {
        let line = frame(5, EventKind::notice(NoticeLevel::Info, "n5"));
        let text = String::from_utf8(line).unwrap();
        let broken = text.replacen("n5", "n5\"garbage", 1);
        assert_eq!(read_line(broken.as_bytes(), false), JournalLine::Damaged);
        assert_eq!(
            read_line(&text.as_bytes()[..30], false),
            JournalLine::Damaged
        );
        assert_eq!(
            read_line(b"{\"type\":\"ready\"}", false),
            JournalLine::Damaged
        );
        assert_eq!(read_line(b"", false), JournalLine::Damaged);
        let mut not_text = frame(6, EventKind::notice(NoticeLevel::Info, "n6"));
        let at = not_text.len() - 5;
        not_text[at] = 0xff;
        assert_eq!(read_line(&not_text, false), JournalLine::Damaged);
    }
}
