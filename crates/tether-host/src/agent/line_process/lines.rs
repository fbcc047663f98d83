//! Splits an agent's stdout into lines without ever holding more than a
//! bounded amount: an oversized line is skipped and reported, not buffered.

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use super::MAX_LINE_BYTES;
use crate::protocol::{EventKind, NoticeLevel, OutputStream};

/// One piece of output: a complete line, or the size of one that was too
/// long to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Text(Vec<u8>),
    Oversized(usize),
}

/// What comes out of a line-protocol agent's process (stream-json, ACP).
pub enum FromChild {
    Line(Line),
    Stderr(String),
}

impl FromChild {
    /// The event for what is not a line to interpret: stderr text, or a
    /// line too long to keep. `Err` gives back a line.
    pub fn side_event(self) -> Result<EventKind, Vec<u8>> {
        match self {
            FromChild::Line(Line::Text(line)) => Err(line),
            FromChild::Line(Line::Oversized(n)) => Ok(EventKind::notice(
                NoticeLevel::Warn,
                format!("dropped an agent output line of {n} bytes (limit {MAX_LINE_BYTES})"),
            )),
            FromChild::Stderr(text) => Ok(EventKind::Output {
                stream: OutputStream::Stderr,
                text,
            }),
        }
    }
}

/// Sends the child's stdout on as lines (never more than
/// [`MAX_LINE_BYTES`] held), until it ends or nobody listens.
pub async fn read_stdout(pipe: Option<impl AsyncRead + Unpin>, out: mpsc::Sender<FromChild>) {
    let Some(mut pipe) = pipe else { return };
    let mut splitter = LineSplitter::new(MAX_LINE_BYTES);
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = Vec::new();
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        splitter.push(&buf[..n], &mut lines);
        for line in lines.drain(..) {
            if out.send(FromChild::Line(line)).await.is_err() {
                return;
            }
        }
    }
    splitter.finish(&mut lines);
    for line in lines {
        let _ = out.send(FromChild::Line(line)).await;
    }
}

#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    max: usize,
    /// Bytes of an oversized line skipped so far (0 when not skipping).
    skipping: usize,
}

impl LineSplitter {
    pub fn new(max: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            max,
            skipping: 0,
        }
    }

    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<Line>) {
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|b| *b == b'\n');
            let (piece, rest, ends_line) = match newline {
                Some(n) => (&bytes[..n], &bytes[n + 1..], true),
                None => (bytes, &[][..], false),
            };
            if self.skipping > 0 {
                self.skipping += piece.len() + usize::from(ends_line);
            } else if self.buf.len() + piece.len() > self.max {
                self.skipping = self.buf.len() + piece.len() + usize::from(ends_line);
                self.buf = Vec::new();
            } else {
                self.buf.extend_from_slice(piece);
            }
            if ends_line {
                if self.skipping > 0 {
                    out.push(Line::Oversized(self.skipping));
                    self.skipping = 0;
                } else {
                    let mut line = std::mem::take(&mut self.buf);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    out.push(Line::Text(line));
                }
            }
            bytes = rest;
        }
    }

    /// The unterminated rest at end of stream.
    pub fn finish(&mut self, out: &mut Vec<Line>) {
        if self.skipping > 0 {
            out.push(Line::Oversized(self.skipping));
            self.skipping = 0;
        } else if !self.buf.is_empty() {
            out.push(Line::Text(std::mem::take(&mut self.buf)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_reads_and_skips_oversized_lines() {
        let mut s = LineSplitter::new(8);
        let mut out = Vec::new();
        s.push(b"abc\nde", &mut out);
        s.push(b"f\n0123456789", &mut out);
        s.push(b"0123\nok\r\ntail", &mut out);
        s.finish(&mut out);
        assert_eq!(
            out,
            [
                Line::Text(b"abc".to_vec()),
                Line::Text(b"def".to_vec()),
                Line::Oversized(15),
                Line::Text(b"ok".to_vec()),
                Line::Text(b"tail".to_vec()),
            ]
        );
    }
}
