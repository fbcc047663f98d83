//! Untrusted agent text to safe styled text.
//!
//! Only SGR (colours and text attributes) is interpreted. Every other escape
//! sequence, control character and bidi override is rendered visibly in
//! `theme::ESCAPED`, so nothing the agent writes can reach the terminal raw.
//!
//! `vte` does the parsing. Outside escape sequences it is in its ground
//! state, where text and control characters cannot change that state: they
//! are dispatched here as vte would (runs of printable ASCII appended
//! whole), and so are complete colour sequences. That is most agent output.
//! From any other ESC on, bytes are fed to vte one at a time so we know
//! exactly which input bytes form the sequence and can show them verbatim
//! (capped), including sequences vte drops silently (aborted CSI, SOS/PM/APC,
//! unterminated strings at the end of the input).

use ratatui::style::{Color, Modifier, Style};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
use vte::{Params, Parser, Perform};

use super::text::StyledText;
use super::theme;

mod shortcuts;
use shortcuts::{plain_run, plain_sgr};

use crate::bytescan::ascii_lines_len;

/// Longest visible form of one escape sequence, in chars (then `…`).
const MAX_VISIBLE: usize = 64;
const ESC: u8 = 0x1b;

/// Sanitises untrusted text; SGR styles are applied relative to `base`.
pub fn sanitize(input: &str, base: Style) -> StyledText {
    sanitize_from(input, base, base).0
}

/// Like [`sanitize`], appending to `out` (no intermediate copy).
pub fn sanitize_into(out: &mut StyledText, input: &str, base: Style) {
    if plain_run(input).0 == input.len() {
        // Nothing to interpret or escape: the common case for the short
        // pieces markdown cuts a line into.
        out.push(input, base);
    } else {
        sanitize_with(out, input, base, base, true);
    }
}

/// Like [`sanitize`], for a stream that arrives in chunks: starts in the
/// SGR style `current` left by the previous chunk and returns the style it
/// leaves for the next one.
pub fn sanitize_from(input: &str, base: Style, current: Style) -> (StyledText, Style) {
    let mut out = StyledText {
        text: String::with_capacity(input.len()),
        // Each escape sequence starts at most a style run or two: enough
        // room for the common case without growing the list.
        runs: Vec::with_capacity(memchr::memchr_iter(ESC, input.as_bytes()).count()),
    };
    let style = sanitize_with(&mut out, input, base, current, true);
    (out, style)
}

/// [`sanitize_from`], appending onto the end of `out` (whose own last
/// style is continued or changed as the input says).
pub fn sanitize_from_into(out: &mut StyledText, input: &str, base: Style, current: Style) -> Style {
    sanitize_with(out, input, base, current, true)
}

/// Checks that the shortcuts (ASCII runs, newlines, colour sequences, the
/// all-ASCII piece) give exactly what feeding every byte to vte gives,
/// also when appending to text that has a style of its own. Panics if not;
/// used by the property tests and the fuzzer.
#[cfg(any(test, feature = "fuzzing"))]
pub fn assert_shortcuts_match(input: &str, base: Style, current: Style) {
    let mut prefix = StyledText::default();
    prefix.push("» ", Style::default().fg(Color::Yellow));
    let run = |shortcuts| {
        let mut out = prefix.clone();
        let left = sanitize_with(&mut out, input, base, current, shortcuts);
        (out, left)
    };
    assert_eq!(run(true), run(false), "{input:?}");
    let mut into = prefix.clone();
    sanitize_into(&mut into, input, base);
    let mut reference = prefix.clone();
    sanitize_with(&mut reference, input, base, base, false);
    assert_eq!(into, reference, "{input:?}");
}

/// Appends `input` sanitised to `out` and returns the SGR style it leaves.
/// `shortcuts` off feeds every byte to vte: the reference the shortcuts
/// are tested against (here and by the fuzzer).
pub(crate) fn sanitize_with(
    out: &mut StyledText,
    input: &str,
    base: Style,
    current: Style,
    shortcuts: bool,
) -> Style {
    let bytes = input.as_bytes();
    let mut sink = Sink::new(out, bytes, base);
    sink.style = current;
    let mut parser = Parser::new();
    let mut i = 0;
    while i < bytes.len() {
        // Outside a sequence (and on a character boundary: a sequence can
        // end inside a multi-byte character, whose rest then goes through
        // the byte path below) vte is in its ground state, so what cannot
        // change that state is handled here without it.
        if shortcuts && sink.seq.is_none() && input.is_char_boundary(i) {
            // Lines of printable ASCII, most of a command's output: taken
            // whole rather than a line and a newline at a time.
            let lines = ascii_lines_len(&bytes[i..]);
            if lines > 0 {
                sink.emit_ascii_lines(&input[i..i + lines]);
                i += lines;
                continue;
            }
            // (An escape or a control starts no run: not even looked for.)
            let (n, ascii) = match bytes[i] {
                0..0x20 => (0, true),
                _ => plain_run(&input[i..]),
            };
            if n > 0 {
                // Most output: appended whole.
                sink.emit_plain(&input[i..i + n], ascii);
                i += n;
                continue;
            }
            match bytes[i] {
                ESC => {
                    if let Some((len, params)) = plain_sgr(&bytes[i..]) {
                        // A complete colour sequence, the common case:
                        // applied at once (vte would do the same, a byte
                        // at a time).
                        sink.sgr_from(
                            params.values[..params.count]
                                .iter()
                                .map(std::slice::from_ref),
                        );
                        i += len;
                        continue;
                    }
                }
                _ => {
                    // Any other character: dispatched as vte's ground
                    // state does (C0 and C1 controls are executed).
                    let c = input[i..].chars().next().expect("at a char boundary");
                    match c {
                        '\0'..='\x1f' | '\u{80}'..='\u{9f}' => sink.execute(c as u8),
                        c => sink.print(c),
                    }
                    i += c.len_utf8();
                    continue;
                }
            }
        }
        sink.pos = i;
        parser.advance(&mut sink, &bytes[i..=i]);
        sink.after_byte(bytes[i]);
        i += 1;
    }
    sink.finish()
}

/// How many bytes at the end of a chunk may be the start of an escape
/// sequence that continues in the next chunk (0 when none): a stream
/// sanitiser holds them back so a split sequence is not shown as text.
pub fn unfinished_escape(chunk: &str) -> usize {
    /// Longer tails are not held: a real sequence is shorter, and an
    /// unterminated string must not hold output back for ever.
    const MAX_HELD: usize = 256;
    let bytes = chunk.as_bytes();
    let Some(at) = memchr::memrchr(ESC, bytes) else {
        return 0;
    };
    let tail = &bytes[at..];
    if tail.len() > MAX_HELD {
        return 0;
    }
    let finished = match tail.get(1) {
        None => false,
        Some(b'[') => tail[2..].iter().any(|b| (0x40..=0x7e).contains(b)),
        Some(b']' | b'P' | b'X' | b'^' | b'_') => tail.contains(&0x07),
        Some(b) => (0x30..=0x7e).contains(b) || tail[1..].iter().any(|b| (0x30..=0x7e).contains(b)),
    };
    if finished { 0 } else { tail.len() }
}

/// Same text as [`sanitize`], without styles (for headless output).
pub fn sanitize_plain(input: &str) -> String {
    sanitize(input, Style::default()).text
}

/// Characters that reorder text visually; shown as markers instead.
pub fn is_bidi_or_separator(c: char) -> bool {
    matches!(c as u32, 0x61C | 0x200E | 0x200F | 0x2028..=0x202E | 0x2066..=0x2069)
}

fn marker(c: char) -> String {
    format!("⟨U+{:04X}⟩", c as u32)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Just after ESC, or ESC + intermediates.
    Esc,
    Csi,
    /// OSC, DCS, SOS/PM/APC: strings that `ESC \` terminates.
    Str,
}

#[derive(Debug, Clone, Copy)]
struct Seq {
    start: usize,
    kind: Kind,
    shown: bool,
}

struct Sink<'a> {
    input: &'a [u8],
    /// Index of the byte being fed while inside a sequence.
    pos: usize,
    seq: Option<Seq>,
    /// The previous string was ended by ESC: a following `\` is its ST.
    st_pending: bool,
    base: Style,
    style: Style,
    out: &'a mut StyledText,
    /// Style of the last thing pushed to `out` (lets `print` skip `push`).
    out_style: Style,
    /// Display column since the last newline, for tab stops, not counting
    /// the text from `uncounted` on.
    col: usize,
    /// Where in `out.text` plain text not yet counted in `col` starts:
    /// counted only if a tab needs the column before the next newline
    /// (the width of non-ASCII text costs a table lookup a character).
    uncounted: Option<usize>,
    pending_cr: bool,
}

impl<'a> Sink<'a> {
    fn new(out: &'a mut StyledText, input: &'a [u8], base: Style) -> Self {
        let out_style = out.current_style();
        Sink {
            input,
            pos: 0,
            seq: None,
            st_pending: false,
            base,
            style: base,
            out,
            out_style,
            col: 0,
            uncounted: None,
            pending_cr: false,
        }
    }

    fn flush_cr(&mut self) {
        if self.pending_cr {
            self.pending_cr = false;
            self.emit("␍", self.base.patch(theme::ESCAPED));
        }
    }

    /// Adds the width of the uncounted text to the column: the sum of its
    /// characters' widths, as if each had been emitted on its own.
    fn count_col(&mut self) {
        if let Some(from) = self.uncounted.take() {
            let text = &self.out.text[from..];
            self.col += text.chars().map(|c| c.width().unwrap_or(0)).sum::<usize>();
        }
    }

    /// Appends safe text and advances the column.
    fn emit(&mut self, s: &str, style: Style) {
        self.flush_cr();
        self.count_col();
        self.col += s.width();
        self.out.push(s, style);
        self.out_style = style;
    }

    /// Text that prints as itself (see [`plain_run`]); its width is
    /// counted when needed.
    fn emit_plain(&mut self, run: &str, ascii: bool) {
        self.flush_cr();
        match self.uncounted {
            None if ascii => self.col += run.len(),
            None => self.uncounted = Some(self.out.text.len()),
            Some(_) => {}
        }
        if self.style == self.out_style {
            self.out.text.push_str(run);
        } else {
            self.out.push(run, self.style);
            self.out_style = self.style;
        }
    }

    /// Printable ASCII and newlines (see [`ascii_lines_len`]): what the
    /// runs and newlines it is made of would give, in one append.
    fn emit_ascii_lines(&mut self, run: &str) {
        let Some(last_newline) = memchr::memrchr(b'\n', run.as_bytes()) else {
            return self.emit_plain(run, true);
        };
        // Newlines first go in the style of what precedes them (and end a
        // pending CR: CR LF is a plain newline); text takes the current one.
        let leading = run.bytes().take_while(|&b| b == b'\n').count();
        if leading > 0 {
            self.pending_cr = false;
            self.out.push(&run[..leading], self.out_style);
        }
        if leading < run.len() {
            self.flush_cr();
            self.out.push(&run[leading..], self.style);
            self.out_style = self.style;
        }
        self.col = run.len() - last_newline - 1;
        self.uncounted = None;
    }

    fn emit_char(&mut self, c: char) {
        self.flush_cr();
        self.count_col();
        self.col += c.width().unwrap_or(0);
        if self.style == self.out_style {
            self.out.text.push(c);
        } else {
            self.out.push(c.encode_utf8(&mut [0; 4]), self.style);
            self.out_style = self.style;
        }
    }

    fn escaped(&mut self, s: &str) {
        self.emit(s, self.base.patch(theme::ESCAPED));
    }

    /// Shows `input[start..end]` visibly as the current sequence.
    fn show_raw(&mut self, end: usize) {
        let Some(seq) = self.seq.as_mut() else { return };
        if seq.shown {
            return;
        }
        seq.shown = true;
        let start = seq.start;
        let visible = visible_form(&self.input[start..end.min(self.input.len())]);
        self.escaped(&visible);
    }

    /// Tracks which kind of sequence the byte just fed leads into.
    fn after_byte(&mut self, b: u8) {
        if b == ESC {
            // vte is now in the escape state: any previous sequence is over.
            self.show_raw(self.pos);
            self.st_pending = self.seq.is_some_and(|s| s.kind == Kind::Str);
            self.seq = Some(Seq {
                start: self.pos,
                kind: Kind::Esc,
                shown: false,
            });
            return;
        }
        let Some(seq) = self.seq.as_mut() else { return };
        match seq.kind {
            Kind::Esc => match b {
                b'[' => seq.kind = Kind::Csi,
                b']' | b'P' | b'X' | b'^' | b'_' => seq.kind = Kind::Str,
                _ => {}
            },
            // A final byte ends any CSI; vte dispatches nothing when it was
            // malformed (its "CSI ignore" state), so show it ourselves.
            Kind::Csi if (0x40..=0x7e).contains(&b) => {
                self.show_raw(self.pos + 1);
                self.seq = None;
            }
            _ => {}
        }
    }

    /// Shows what is left unfinished; returns the SGR style at the end.
    fn finish(mut self) -> Style {
        self.show_raw(self.input.len());
        self.flush_cr();
        self.style
    }

    fn set_mod(&mut self, m: Modifier, on: bool) {
        // "Off" means back to what the base says.
        let base = self.base;
        self.style
            .add_modifier
            .set(m, on || base.add_modifier.contains(m));
        self.style
            .sub_modifier
            .set(m, !on && base.sub_modifier.contains(m));
    }

    fn sgr(&mut self, params: &Params) {
        self.sgr_from(params.iter());
    }

    /// Applies SGR parameters (each with its colon sub-parameters).
    fn sgr_from<'p>(&mut self, mut it: impl Iterator<Item = &'p [u16]>) {
        while let Some(p) = it.next() {
            let code = p[0];
            match code {
                0 => self.style = self.base,
                // n sets an attribute, 20 + n clears it (22 clears bold and dim).
                1..=29 => {
                    let m = match code % 20 {
                        1 => Modifier::BOLD,
                        2 => Modifier::DIM,
                        3 => Modifier::ITALIC,
                        4 => Modifier::UNDERLINED,
                        7 => Modifier::REVERSED,
                        9 => Modifier::CROSSED_OUT,
                        // Blink, hidden (never hide text), fonts: ignored.
                        _ => continue,
                    };
                    // `4:0` is "no underline".
                    self.set_mod(m, code < 20 && p.get(1) != Some(&0));
                    if code == 22 {
                        self.set_mod(Modifier::BOLD, false);
                    }
                }
                30..=37 | 90..=97 => self.style.fg = Some(ansi_color(code)),
                40..=47 | 100..=107 => self.style.bg = Some(ansi_color(code)),
                39 => self.style.fg = self.base.fg,
                49 => self.style.bg = self.base.bg,
                // 58 is the underline colour: parsed so that its arguments
                // are not taken for codes, then ignored.
                38 | 48 | 58 => {
                    let color = match p.len() {
                        1 => extended_color(it.by_ref().map(|p| p[0]), false),
                        n => extended_color(p[1..].iter().copied(), n >= 6),
                    };
                    match (code, color) {
                        (38, Some(c)) => self.style.fg = Some(c),
                        (48, Some(c)) => self.style.bg = Some(c),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
}

#[rustfmt::skip]
fn ansi_color(code: u16) -> Color {
    use Color::*;
    const COLORS: [Color; 16] = [
        Black, Red, Green, Yellow, Blue, Magenta, Cyan, Gray,
        DarkGray, LightRed, LightGreen, LightYellow, LightBlue, LightMagenta, LightCyan, White,
    ];
    // 30-37 / 40-47 normal, 90-97 / 100-107 bright.
    COLORS[usize::from(code % 10 + if code >= 90 { 8 } else { 0 }) & 15]
}

/// The arguments of 38/48/58: `5;n` or `2;r;g;b` (each argument a
/// parameter), or `5:n`, `2:r:g:b`, `2:cs:r:g:b` (sub-parameters).
fn extended_color(mut args: impl Iterator<Item = u16>, colorspace: bool) -> Option<Color> {
    let mut next = || args.next().map(|v| u8::try_from(v).ok());
    match next()?? {
        5 => Some(Color::Indexed(next()??)),
        2 => {
            if colorspace {
                next();
            }
            Some(Color::Rgb(next()??, next()??, next()??))
        }
        _ => None,
    }
}

/// Readable, safe, capped form of the raw bytes of an escape sequence.
fn visible_form(raw: &[u8]) -> String {
    let mut limit = raw.len().min(MAX_VISIBLE * 4 + 16);
    // Cut at a char boundary so the cut does not show up as U+FFFD.
    while limit < raw.len() && limit > 0 && (raw[limit] & 0xc0) == 0x80 {
        limit -= 1;
    }
    let mut out = String::new();
    let mut n = 0;
    for c in String::from_utf8_lossy(&raw[..limit]).chars() {
        if n == MAX_VISIBLE {
            limit = 0;
            break;
        }
        match c {
            '\x1b' => out.push('␛'),
            // C0 inside a sequence is executed (shown on its own) or ignored
            // by the terminal; leave it out of the picture.
            '\0'..='\x1f' | '\x7f' => continue,
            c if c.is_control() || is_bidi_or_separator(c) => out.push_str(&marker(c)),
            c => out.push(c),
        }
        n += 1;
    }
    if limit < raw.len() {
        out.push('…');
    }
    out
}

impl Perform for Sink<'_> {
    fn print(&mut self, c: char) {
        match c {
            '\x7f' => self.escaped("␡"),
            c if c.is_control() || is_bidi_or_separator(c) => self.escaped(&marker(c)),
            c => self.emit_char(c),
        }
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' => {
                // CR LF is a plain newline.
                self.pending_cr = false;
                self.out.push("\n", self.out_style);
                self.col = 0;
                self.uncounted = None;
            }
            b'\r' => {
                self.flush_cr();
                self.pending_cr = true;
            }
            b'\t' => {
                self.flush_cr();
                self.count_col();
                let n = 8 - self.col % 8;
                self.emit(&"        "[..n], self.style);
            }
            0x00..=0x1f => {
                if matches!(byte, 0x18 | 0x1a) && self.seq.is_some() {
                    // CAN / SUB abort the sequence being parsed.
                    self.show_raw(self.pos);
                    self.seq = None;
                }
                let picture = char::from_u32(0x2400 + u32::from(byte)).unwrap_or('?');
                self.escaped(picture.encode_utf8(&mut [0; 4]));
            }
            0x7f => self.escaped("␡"),
            _ => self.escaped(&marker(char::from(byte))),
        }
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], _ignore: bool, c: char) {
        if c == 'm' && intermediates.is_empty() {
            self.sgr(params);
        } else {
            self.show_raw(self.pos + 1);
        }
        self.seq = None;
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        let is_st = byte == b'\\' && intermediates.is_empty() && self.st_pending;
        if !is_st {
            self.show_raw(self.pos + 1);
        }
        self.st_pending = false;
        self.seq = None;
    }

    fn osc_dispatch(&mut self, _params: &[&[u8]], bell_terminated: bool) {
        // Called on the terminator (BEL, ESC, CAN or SUB), which is not shown.
        self.show_raw(self.pos);
        self.seq = self.seq.filter(|_| !bell_terminated);
    }

    fn unhook(&mut self) {
        // Called on the terminator (ESC, CAN, SUB or a raw 0x9C byte).
        self.show_raw(self.pos);
        self.seq = self.seq.filter(|_| self.input.get(self.pos) != Some(&0x9c));
    }
}

#[cfg(test)]
mod tests;
