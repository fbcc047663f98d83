//! Splits an agent's stdout into lines without ever holding more than a
//! bounded amount: an oversized line is skipped and reported, not buffered.

/// One piece of output: a complete line, or the size of one that was too
/// long to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Text(Vec<u8>),
    Oversized(usize),
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
