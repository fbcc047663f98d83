//! Answering a `history` request off the session task: the page planned
//! by the session (its frames in memory, the older part on disk) read,
//! trimmed to the byte budget and sent as one `history` message; a
//! search (`find`) scans backwards, memory first, then the journal in
//! chunks, a bounded amount per request.

use bytes::Bytes;
use memchr::memmem;
use serde_json::Value;

use crate::host::error::Result;
use crate::host::journal::JournalReader;
use crate::host::session::{PagePlan, SeqRange, page_limit};
use crate::protocol::HistoryRequest;

/// Bytes of events a page holds without `max_bytes`, and at most.
const MAX_BYTES_DEFAULT: usize = 1 << 20;
const MAX_BYTES_CAP: usize = 4 << 20;
/// Journal bytes one search request scans before it answers "not yet".
const FIND_SCAN_BYTES: u64 = 64 << 20;
/// Events of the journal a search reads at a time, newest chunk first.
const FIND_CHUNK: u64 = 16_384;

/// A `history` request with what the session planned for it.
pub struct HistoryJob {
    pub request: HistoryRequest,
    pub plan: PagePlan,
    /// The journal, when part of the range is only on disk.
    pub journal: Option<JournalReader>,
}

/// One event of a page: its seq and frame.
type Entry = (u64, Bytes);

impl HistoryJob {
    /// The `history` message answering the request. Blocking: it may
    /// read the journal.
    pub fn answer(self) -> Result<String> {
        let max_bytes = self
            .request
            .max_bytes
            .unwrap_or(MAX_BYTES_DEFAULT)
            .clamp(1, MAX_BYTES_CAP);
        let limit = page_limit(self.request.limit);
        let range = self.range();
        let (events, found, searched_from) = match self.request.find.as_deref() {
            None => {
                let newest = self.plan.newest;
                let events = self.events(range, limit, Page { newest, max_bytes })?;
                (trim(events, max_bytes, newest), None, None)
            }
            Some(needle) if self.request.forward => match self.search_forward(range, needle)? {
                Search::Found(seq) => {
                    let from = SeqRange {
                        after: seq - 1,
                        before: range.before,
                    };
                    let page = Page {
                        newest: false,
                        max_bytes,
                    };
                    let events = self.events(from, limit, page)?;
                    (trim(events, max_bytes, false), Some(seq), None)
                }
                Search::NotYet(to) => {
                    return Ok(self.message(&[], None, None, Some(to)));
                }
                Search::None => (Vec::new(), None, None),
            },
            Some(needle) => match self.search(range, needle)? {
                Search::Found(seq) => {
                    let up_to = SeqRange {
                        after: range.after,
                        before: seq + 1,
                    };
                    let page = Page {
                        newest: true,
                        max_bytes,
                    };
                    let events = self.events(up_to, limit, page)?;
                    (trim(events, max_bytes, true), Some(seq), None)
                }
                Search::NotYet(from) => (Vec::new(), None, Some(from)),
                Search::None => (Vec::new(), None, None),
            },
        };
        Ok(self.message(&events, found, searched_from, None))
    }

    /// The seqs the request may see: `after < seq < before`, within what
    /// the host can serve.
    fn range(&self) -> SeqRange {
        SeqRange {
            after: self.request.after.max(self.plan.oldest.saturating_sub(1)),
            before: self
                .request
                .before
                .unwrap_or(u64::MAX)
                .min(self.plan.last_seq + 1),
        }
    }

    /// Up to `limit` events of `range`, its newest or its oldest, in seq
    /// order, and about `max_bytes` of them (the caller trims): the older
    /// part from the journal, the rest from memory. The journal is read
    /// only as far as the budget needs: forwards until it is spent, or
    /// backwards an index slot at a time.
    fn events(&self, range: SeqRange, limit: usize, page: Page) -> Result<Vec<Entry>> {
        let (lo, hi) = (range.after + 1, range.before);
        if lo >= hi {
            return Ok(Vec::new());
        }
        let limit = limit as u64;
        let (a, b) = if page.newest {
            (hi.saturating_sub(limit).max(lo), hi)
        } else {
            (lo, lo.saturating_add(limit).min(hi))
        };
        let memory_from = self.plan.first_frame_seq;
        let memory: Vec<Entry> = (self.plan.frames.iter().enumerate())
            .map(|(at, frame)| (memory_from + at as u64, frame.clone()))
            .filter(|(seq, _)| *seq >= a && *seq < b)
            .collect();
        let disk_end = memory_from.min(b);
        let Some(journal) = self.journal.as_ref().filter(|_| a < disk_end) else {
            return Ok(memory);
        };
        let mut bytes: usize = memory.iter().map(|(_, f)| f.len()).sum();
        if !page.newest {
            let mut out = Vec::new();
            read(journal, a, disk_end, &mut out, |size| {
                bytes += size;
                bytes <= page.max_bytes
            })?;
            if bytes <= page.max_bytes {
                out.extend(memory);
            }
            return Ok(out);
        }
        let mut out = memory;
        let mut to = disk_end;
        while to > a && bytes <= page.max_bytes {
            let from = journal.slot_start(to - 1).max(a);
            let mut chunk = Vec::new();
            read(journal, from, to, &mut chunk, |size| {
                bytes += size;
                true
            })?;
            chunk.append(&mut out);
            out = chunk;
            to = from;
        }
        Ok(out)
    }

    /// The newest event of `range` whose text holds `needle`.
    fn search(&self, range: SeqRange, needle: &str) -> Result<Search> {
        let Some(matcher) = Matcher::new(needle) else {
            return Ok(Search::None);
        };
        let memory_from = self.plan.first_frame_seq;
        for (at, frame) in self.plan.frames.iter().enumerate().rev() {
            let seq = memory_from + at as u64;
            if seq > range.after && seq < range.before && matcher.matches(frame) {
                return Ok(Search::Found(seq));
            }
        }
        let Some(journal) = &self.journal else {
            return Ok(Search::None);
        };
        let mut hi = range.before.min(memory_from);
        let mut scanned = 0u64;
        while hi > range.after + 1 {
            let lo = hi.saturating_sub(FIND_CHUNK).max(range.after + 1);
            if let Some(seq) = chunk_match(journal, lo..hi, &matcher, &mut scanned, false)? {
                return Ok(Search::Found(seq));
            }
            hi = lo;
            if scanned >= FIND_SCAN_BYTES && hi > range.after + 1 {
                return Ok(Search::NotYet(hi));
            }
        }
        Ok(Search::None)
    }

    /// The oldest event of `range` whose text holds `needle`: the journal
    /// (older) first, in chunks, then memory.
    fn search_forward(&self, range: SeqRange, needle: &str) -> Result<Search> {
        let Some(matcher) = Matcher::new(needle) else {
            return Ok(Search::None);
        };
        let memory_from = self.plan.first_frame_seq;
        if let Some(journal) = &self.journal {
            let end = range.before.min(memory_from);
            let (mut lo, mut scanned) = (range.after + 1, 0u64);
            while lo < end {
                let hi = lo.saturating_add(FIND_CHUNK).min(end);
                if let Some(seq) = chunk_match(journal, lo..hi, &matcher, &mut scanned, true)? {
                    return Ok(Search::Found(seq));
                }
                lo = hi;
                if scanned >= FIND_SCAN_BYTES && lo < end {
                    return Ok(Search::NotYet(lo - 1));
                }
            }
        }
        for (at, frame) in self.plan.frames.iter().enumerate() {
            let seq = memory_from + at as u64;
            if seq > range.after && seq < range.before && matcher.matches(frame) {
                return Ok(Search::Found(seq));
            }
        }
        Ok(Search::None)
    }

    /// The `history` message: the frames are embedded as they are.
    fn message(
        &self,
        events: &[Entry],
        found: Option<u64>,
        searched_from: Option<u64>,
        searched_to: Option<u64>,
    ) -> String {
        let size: usize = events.iter().map(|(_, f)| f.len() + 1).sum();
        let mut out = String::with_capacity(size + 160);
        out.push_str(r#"{"type":"history","id":"#);
        out.push_str(&Value::from(self.request.id.as_str()).to_string());
        out.push_str(&format!(
            r#","oldest":{},"last_seq":{}"#,
            self.plan.oldest, self.plan.last_seq
        ));
        if let Some(seq) = found {
            out.push_str(&format!(r#","found":{seq}"#));
        }
        if let Some(seq) = searched_from {
            out.push_str(&format!(r#","searched_from":{seq}"#));
        }
        if let Some(seq) = searched_to {
            out.push_str(&format!(r#","searched_to":{seq}"#));
        }
        out.push_str(r#","events":["#);
        for (n, (_, frame)) in events.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            // Frames are the JSON text of `event` messages (UTF-8).
            out.push_str(std::str::from_utf8(frame).unwrap_or("null"));
        }
        out.push_str("]}");
        out
    }
}

/// Which end of a range a page takes, and its byte budget.
#[derive(Clone, Copy)]
struct Page {
    newest: bool,
    max_bytes: usize,
}

/// Reads the journal's events `from..to` into `out`, while `more` (told
/// each frame's size) says so.
fn read(
    journal: &JournalReader,
    from: u64,
    to: u64,
    out: &mut Vec<Entry>,
    mut more: impl FnMut(usize) -> bool,
) -> Result<()> {
    journal
        .cursor(from - 1)
        .read_range(from - 1, to, |seq, frame| {
            let go_on = more(frame.len());
            out.push((seq, Bytes::from(frame)));
            go_on
        })
}

/// The newest (or, `oldest`, the oldest) event of `seqs` in the journal
/// that `matcher` matches; the bytes read are added to `scanned`.
fn chunk_match(
    journal: &JournalReader,
    seqs: std::ops::Range<u64>,
    matcher: &Matcher,
    scanned: &mut u64,
    oldest: bool,
) -> Result<Option<u64>> {
    let mut found = None;
    journal
        .cursor(seqs.start - 1)
        .read_range(seqs.start - 1, seqs.end, |seq, frame| {
            *scanned += frame.len() as u64;
            if matcher.matches(&frame) {
                found = Some(seq);
                return !oldest;
            }
            true
        })?;
    Ok(found)
}

enum Search {
    Found(u64),
    /// Nothing from this seq on; older events not looked at yet.
    NotYet(u64),
    None,
}

/// Keeps the newest (or oldest) events that fit in `max_bytes`, and at
/// least one.
fn trim(mut events: Vec<Entry>, max_bytes: usize, newest: bool) -> Vec<Entry> {
    let mut total = 0;
    let keep = |(_, frame): &Entry, total: &mut usize| {
        *total += frame.len();
        *total <= max_bytes
    };
    if newest {
        let fit = events
            .iter()
            .rev()
            .take_while(|e| keep(e, &mut total))
            .count();
        let drop = events.len() - fit.max(1).min(events.len());
        events.drain(..drop);
    } else {
        let fit = events.iter().take_while(|e| keep(e, &mut total)).count();
        events.truncate(fit.max(1));
    }
    events
}

/// Whether an event's text holds a needle, ignoring ASCII case: the raw
/// frame is looked through first (cheap), then the event's decoded
/// strings (so that field names and JSON escapes do not match).
struct Matcher {
    finder: memmem::Finder<'static>,
    lower: String,
}

impl Matcher {
    fn new(needle: &str) -> Option<Self> {
        let lower = needle.to_ascii_lowercase();
        if lower.is_empty() {
            return None;
        }
        let escaped = Value::from(lower.as_str()).to_string();
        let escaped = escaped.as_bytes()[1..escaped.len() - 1].to_vec();
        Some(Matcher {
            finder: memmem::Finder::new(&escaped).into_owned(),
            lower,
        })
    }

    fn matches(&self, frame: &[u8]) -> bool {
        let lowered = frame.to_ascii_lowercase();
        if self.finder.find(&lowered).is_none() {
            return false;
        }
        match serde_json::from_slice::<Value>(frame) {
            Ok(value) => holds(&value["event"], &self.lower),
            Err(_) => false,
        }
    }
}

/// Whether any string in `value` (not `kind`, not a field name) holds
/// `lower`, ignoring ASCII case.
fn holds(value: &Value, lower: &str) -> bool {
    match value {
        Value::String(text) => text.to_ascii_lowercase().contains(lower),
        Value::Array(items) => items.iter().any(|v| holds(v, lower)),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, v)| key != "kind" && holds(v, lower)),
        _ => false,
    }
}

/// Answers `job` off the async threads: the `history` message, or an
/// `error` echoing the request's id when the journal cannot be read.
pub async fn answer_history(job: HistoryJob) -> String {
    let id = job.request.id.clone();
    let failed = match tokio::task::spawn_blocking(move || job.answer()).await {
        Ok(Ok(text)) => return text,
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("the history task failed: {e}"),
    };
    tracing::error!("history request failed: {failed}");
    crate::protocol::ServerMessage::error(
        Some(id),
        crate::protocol::ErrorCode::Other,
        format!("history cannot be read: {failed}"),
    )
    .to_json()
}
