//! Syntax highlighting of code (markdown code blocks, diff previews).
//!
//! syntect with its pure-Rust regex engine and two-face's grammars, loaded
//! once, lazily. The theme is bat's `ansi` theme: it names terminal palette
//! colours, so code looks like the rest of the UI in any terminal theme.
//! Only foreground colours are taken; the caller keeps its background.
//!
//! The input is text that is already sanitised (what is shown), so the
//! highlighter never sees an escape sequence, and it emits no text: only
//! colour runs over byte offsets of that text. Each highlighted text is
//! cached, so a block is highlighted once, not per frame or per streamed
//! fragment of the reply it is in.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

use ratatui::style::{Color, Style};
use syntect::highlighting::{HighlightIterator, HighlightState, Highlighter};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;
use two_face::theme::{EmbeddedLazyThemeSet, EmbeddedThemeName};

use super::text::StyledText;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(two_face::syntax::extra_newlines);
static THEMES: LazyLock<EmbeddedLazyThemeSet> = LazyLock::new(two_face::theme::extra);
static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

/// Texts larger than this are left plain (highlighting is ~µs per line).
const MAX_TEXT: usize = 256 * 1024;
/// A line longer than this (minified code) leaves its text plain: regex
/// grammars can be slow on very long lines.
const MAX_LINE: usize = 4096;
/// Bytes of highlighted text the cache keeps before it starts over.
const CACHE_BUDGET: usize = 4 * 1024 * 1024;

/// A grammar to highlight with.
#[derive(Clone, Copy)]
pub struct Syntax(&'static SyntaxReference);

impl std::fmt::Debug for Syntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.name)
    }
}

/// `fg` applies from byte `start` of the highlighted text to the next run;
/// `None` keeps the caller's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColourRun {
    pub start: u32,
    pub fg: Option<Color>,
}

/// The grammar for a code block's info string (`rust`, `py`, `toml`,
/// `rust,ignore`...); `None` when it names none (the block stays plain).
pub fn syntax_for_tag(info: &str) -> Option<Syntax> {
    let tag = info
        .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
        .find(|word| !word.is_empty())?;
    let tag = tag.strip_prefix('.').unwrap_or(tag);
    if tag.is_empty() || tag.len() > 32 {
        return None;
    }
    useful(SYNTAXES.find_syntax_by_token(tag))
}

/// The grammar for a file, by its name (`Makefile`) or extension.
pub fn syntax_for_path(path: &str) -> Option<Syntax> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if name.len() > 255 {
        return None;
    }
    let by_extension = || {
        let (_, extension) = name.rsplit_once('.')?;
        SYNTAXES.find_syntax_by_extension(extension)
    };
    useful(
        SYNTAXES
            .find_syntax_by_extension(name)
            .or_else(by_extension),
    )
}

fn useful(found: Option<&'static SyntaxReference>) -> Option<Syntax> {
    found.filter(|s| s.name != "Plain Text").map(Syntax)
}

/// The colours of `text` (lines separated by `\n`) in `syntax`, from the
/// cache when this text was highlighted before. `None`: left plain (too
/// large, or the grammar failed on it).
pub fn colours(syntax: Syntax, text: &str) -> Option<Arc<[ColourRun]>> {
    if text.len() > MAX_TEXT || text.split('\n').any(|line| line.len() > MAX_LINE) {
        return None;
    }
    let key = cache_key(syntax, text);
    if let Some(found) = lock().get(key, syntax, text) {
        return found;
    }
    let made = highlight(syntax, text).map(Arc::from);
    lock().insert(key, syntax, text, made.clone());
    made
}

/// Appends `line` (sanitised text, starting at byte `offset` of a text
/// [`colours`] was made for) to `out`, giving the pieces in style `plain`
/// the highlighted foreground colours. Other pieces (escape sequences made
/// visible, colours the text set itself) keep their own style.
pub fn paint(
    out: &mut StyledText,
    line: &StyledText,
    offset: usize,
    colours: &[ColourRun],
    plain: Style,
) {
    let mut at = 0;
    for (piece, style) in line.pieces() {
        let start = at;
        at += piece.len();
        if style != plain {
            out.push(piece, style);
            continue;
        }
        let mut from = start;
        while from < at {
            let global = offset + from;
            let run = colours.partition_point(|r| r.start as usize <= global);
            let fg = run.checked_sub(1).and_then(|i| colours[i].fg);
            let next = colours
                .get(run)
                .map_or(usize::MAX, |r| r.start as usize - offset);
            let to = next.min(at);
            let style = fg.map_or(plain, |fg| plain.fg(fg));
            out.push(&line.text[from..to], style);
            from = to;
        }
    }
}

/// Sanitised `lines` highlighted together as one text (so a construct
/// may span lines), each painted as by [`paint`]; `None` when they stay
/// plain.
pub fn paint_lines(syntax: Syntax, lines: &[StyledText], plain: Style) -> Option<Vec<StyledText>> {
    let mut joined = String::with_capacity(lines.iter().map(|l| l.text.len() + 1).sum());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            joined.push('\n');
        }
        joined.push_str(&line.text);
    }
    let colours = colours(syntax, &joined)?;
    let mut offset = 0;
    let painted = lines
        .iter()
        .map(|line| {
            let mut out = StyledText::default();
            paint(&mut out, line, offset, &colours, plain);
            offset += line.text.len() + 1;
            out
        })
        .collect();
    Some(painted)
}

fn highlight(syntax: Syntax, text: &str) -> Option<Vec<ColourRun>> {
    count_run();
    let highlighter = Highlighter::new(THEMES.get(EmbeddedThemeName::Ansi));
    let resumed = take_checkpoint(syntax, text);
    let mut at = resumed.as_ref().map_or(0, |c| c.prefix.len());
    let (mut parse, mut state, mut runs) = match resumed {
        Some(c) => (c.parse, c.state, c.runs),
        None => (
            ParseState::new(syntax.0),
            HighlightState::new(&highlighter, ScopeStack::new()),
            Vec::new(),
        ),
    };
    // Where the last line starts: a reply still streaming in may be
    // completed there, so the state before it is kept for the next call.
    let last_line = text.rfind('\n').map_or(0, |i| i + 1);
    for line in LinesWithEndings::from(&text[at..]) {
        if at == last_line && at > 0 {
            save_checkpoint(syntax, &text[..at], &parse, &state, &runs);
        }
        let ops = parse.parse_line(line, &SYNTAXES).ok()?;
        for (style, piece) in HighlightIterator::new(&mut state, &ops, line, &highlighter) {
            let fg = terminal_colour(style.foreground);
            if runs.last().is_none_or(|r: &ColourRun| r.fg != fg) {
                runs.push(ColourRun {
                    start: at as u32,
                    fg,
                });
            }
            at += piece.len();
        }
    }
    Some(runs)
}

/// The highlighter's state at a line start of a text, to continue from
/// when the same text comes back longer (a code block streaming in).
struct Checkpoint {
    syntax: &'static str,
    prefix: String,
    parse: ParseState,
    state: HighlightState,
    runs: Vec<ColourRun>,
}

static CHECKPOINT: Mutex<Option<Checkpoint>> = Mutex::new(None);

fn take_checkpoint(syntax: Syntax, text: &str) -> Option<Checkpoint> {
    let mut kept = CHECKPOINT.lock().unwrap_or_else(|p| p.into_inner());
    let fits = kept
        .as_ref()
        .is_some_and(|c| c.syntax == syntax.0.name && text.starts_with(c.prefix.as_str()));
    if fits { kept.take() } else { None }
}

fn save_checkpoint(
    syntax: Syntax,
    prefix: &str,
    parse: &ParseState,
    state: &HighlightState,
    runs: &[ColourRun],
) {
    *CHECKPOINT.lock().unwrap_or_else(|p| p.into_inner()) = Some(Checkpoint {
        syntax: &syntax.0.name,
        prefix: prefix.to_owned(),
        parse: parse.clone(),
        state: state.clone(),
        runs: runs.to_vec(),
    });
}

/// bat's `ansi` theme encodes a palette index in red when alpha is 0, and
/// "the terminal's default" as alpha 1.
fn terminal_colour(colour: syntect::highlighting::Color) -> Option<Color> {
    match colour.a {
        0 => Some(match colour.r {
            0 => Color::Black,
            1 => Color::Red,
            2 => Color::Green,
            3 => Color::Yellow,
            4 => Color::Blue,
            5 => Color::Magenta,
            6 => Color::Cyan,
            7 => Color::Gray,
            n => Color::Indexed(n),
        }),
        1 => None,
        _ => Some(Color::Rgb(colour.r, colour.g, colour.b)),
    }
}

fn cache_key(syntax: Syntax, text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    syntax.0.name.hash(&mut hasher);
    text.hash(&mut hasher);
    hasher.finish()
}

fn lock() -> std::sync::MutexGuard<'static, Cache> {
    CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Colours = Option<Arc<[ColourRun]>>;

/// Highlighted texts by hash; the text is kept to rule out collisions.
#[derive(Default)]
struct Cache {
    entries: HashMap<u64, (&'static str, Box<str>, Colours)>,
    bytes: usize,
}

impl Cache {
    fn get(&self, key: u64, syntax: Syntax, text: &str) -> Option<Colours> {
        let (name, kept, colours) = self.entries.get(&key)?;
        (*name == syntax.0.name.as_str() && **kept == *text).then(|| colours.clone())
    }

    fn insert(&mut self, key: u64, syntax: Syntax, text: &str, colours: Colours) {
        if self.bytes + text.len() > CACHE_BUDGET {
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += text.len();
        let name: &'static str = &syntax.0.name;
        self.entries.insert(key, (name, text.into(), colours));
    }
}

thread_local! {
    /// Highlighting passes made on this thread (tests check the cache).
    static RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count_run() {
    RUNS.with(|runs| runs.set(runs.get() + 1));
}

/// How many texts this thread has highlighted (not found in the cache).
#[cfg(test)]
pub fn highlight_passes() -> usize {
    RUNS.with(std::cell::Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_paths_find_grammars() {
        for tag in [
            "rust",
            "rs",
            "py",
            "python",
            "toml",
            "ts",
            "rust,ignore",
            "sh",
        ] {
            assert!(syntax_for_tag(tag).is_some(), "{tag}");
        }
        for tag in ["", "text", "no-such-language", "txt"] {
            assert!(syntax_for_tag(tag).is_none(), "{tag}");
        }
        assert_eq!(syntax_for_path("src/main.rs").unwrap().0.name, "Rust");
        assert!(syntax_for_path("a/Makefile").is_some());
        assert!(syntax_for_path("notes.unknownext").is_none());
        assert!(syntax_for_path("README").is_none());
    }

    #[test]
    fn rust_gets_several_colours_and_runs_cover_the_text() {
        let rust = syntax_for_tag("rust").unwrap();
        let text = "fn main() {\n    let x = \"s\"; // note\n}";
        let runs = colours(rust, text).unwrap();
        let distinct: std::collections::HashSet<_> = runs.iter().filter_map(|r| r.fg).collect();
        assert!(distinct.len() > 1, "{runs:?}");
        assert_eq!(runs[0].start, 0);
        assert!(runs.windows(2).all(|w| w[0].start < w[1].start));
        assert!(runs.last().unwrap().start as usize <= text.len());
    }

    #[test]
    fn a_text_is_highlighted_once() {
        let rust = syntax_for_tag("rust").unwrap();
        let text = "fn once_only_here() -> u8 { 7 }";
        let before = highlight_passes();
        let first = colours(rust, text);
        let again = colours(rust, text);
        assert_eq!(highlight_passes(), before + 1);
        assert_eq!(first, again);
        colours(rust, "fn another_text() {}");
        assert_eq!(highlight_passes(), before + 2);
    }

    #[test]
    fn huge_texts_stay_plain() {
        let rust = syntax_for_tag("rust").unwrap();
        assert!(colours(rust, &"x".repeat(MAX_LINE + 1)).is_none());
        assert!(colours(rust, &"let a = 1;\n".repeat(MAX_TEXT / 10)).is_none());
    }

    #[test]
    fn paint_keeps_other_styles_and_splits_at_runs() {
        let plain = Style::new().bg(Color::Blue);
        let mut line = StyledText::plain("ab", plain);
        line.push("␛", plain.fg(Color::DarkGray));
        line.push("cd", plain);
        let runs = [
            ColourRun {
                start: 10,
                fg: Some(Color::Red),
            },
            ColourRun {
                start: 11,
                fg: None,
            },
            ColourRun {
                start: 16,
                fg: Some(Color::Green),
            },
        ];
        let mut out = StyledText::default();
        paint(&mut out, &line, 10, &runs, plain);
        let pieces: Vec<(&str, Style)> = out.pieces().collect();
        assert_eq!(
            pieces,
            [
                ("a", plain.fg(Color::Red)),
                ("b", plain),
                ("␛", plain.fg(Color::DarkGray)),
                ("c", plain),
                ("d", plain.fg(Color::Green)),
            ]
        );
    }

    #[test]
    fn a_growing_text_continues_where_it_was_and_gets_the_same_colours() {
        let rust = syntax_for_tag("rust").unwrap();
        let full = "/* a comment\n   over lines */\nfn grows() -> &'static str {\n    \"s\"\n}\n";
        let mut streamed = None;
        for end in (1..=full.len()).filter(|&end| full.is_char_boundary(end)) {
            streamed = colours(rust, &full[..end]);
        }
        *CHECKPOINT.lock().unwrap() = None;
        let fresh = highlight(rust, full).map(Arc::from);
        assert_eq!(streamed, fresh);
    }
}
