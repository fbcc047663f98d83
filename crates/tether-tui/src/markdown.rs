//! Light, line-based markdown rendering of assistant text.
//!
//! Not CommonMark: headings, fenced code, lists, quotes, rules and a
//! conservative subset of inline markup. The input is untrusted, so every
//! piece of text goes through [`sanitize`].

mod code;
mod delimiter;
#[cfg(test)]
mod screens;
mod table;

pub use table::DEFAULT_WIDTH as DEFAULT_TABLE_WIDTH;

use ratatui::style::Style;

use super::sanitize::sanitize_into;
use super::text::StyledText;
use super::theme;

const RULE_WIDTH: usize = 20;
/// Longer backtick runs are never treated as code span delimiters.
const MAX_TICKS: usize = 16;

/// Renders markdown `input` (untrusted) into styled text, relative to `base`.
/// Takes a `String` without copying when all of it is plain prose.
pub fn render_markdown<S: AsRef<str> + Into<String>>(input: S, base: Style) -> StyledText {
    render_markdown_at(input, base, DEFAULT_TABLE_WIDTH)
}

/// [`render_markdown`] with tables laid out to fit `table_width` columns.
pub fn render_markdown_at<S: AsRef<str> + Into<String>>(
    input: S,
    base: Style,
    table_width: usize,
) -> StyledText {
    if is_plain_text(input.as_ref()) {
        StyledText::plain(input, base)
    } else {
        render_lines(input.as_ref(), base, table_width)
    }
}

/// Whether `input` has a table, whose layout depends on the width it is
/// drawn at (everything else is wrapped when drawn).
pub fn has_table(input: &str) -> bool {
    if memchr::memchr(b'|', input.as_bytes()).is_none() {
        return false;
    }
    let mut lines = input.lines().peekable();
    while let Some(line) = lines.next() {
        if line.contains('|')
            && lines
                .peek()
                .is_some_and(|next| table::head(line, next).is_some())
        {
            return true;
        }
    }
    false
}

/// True when every line renders as itself: what [`render_lines`] makes of
/// it is the whole text in `base`. Answered from the bytes in two quick
/// passes, because most assistant replies are like this.
fn is_plain_text(input: &str) -> bool {
    let bytes = input.as_bytes();
    if !crate::bytescan::all(bytes, |b| (b == b'\n') | plain_byte(b)) {
        return false;
    }
    // Each line starts like prose (a later one may also be empty: it adds
    // nothing but its newline).
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes).chain([bytes.len()]) {
        let line = &bytes[start..end];
        if !(starts_like_prose(line) || (start > 0 && line.is_empty())) {
            return false;
        }
        start = end + 1;
    }
    true
}

/// The line-by-line renderer.
fn render_lines(input: &str, base: Style, table_width: usize) -> StyledText {
    let mut out = StyledText::default();
    out.text.reserve(input.len());
    // Room for a few style runs a line (markup changes style often), so
    // the list is not regrown run by run; trimmed to size at the end.
    out.runs.reserve(input.len() / 8);
    // One search for `|` here spares one a line when there is none.
    let may_have_table = memchr::memchr(b'|', input.as_bytes()).is_some();
    let mut first = true;
    let mut lines = lines_of(input)
        .map(|raw| raw.strip_suffix('\r').unwrap_or(raw))
        .peekable();
    while let Some(line) = lines.next() {
        if let Some((ch, len, info)) = fence_open(line) {
            let code: Vec<&str> =
                std::iter::from_fn(|| lines.next_if(|l| !is_fence_close(l, ch, len))).collect();
            // The closing fence, if there is one.
            lines.next();
            code::render_block(&mut out, &mut first, info, &code, base);
            continue;
        }
        if may_have_table
            && memchr::memchr(b'|', line.as_bytes()).is_some()
            && let Some(columns) = lines.peek().and_then(|next| table::head(line, next))
        {
            lines.next();
            let rows: Vec<&str> =
                std::iter::from_fn(|| lines.next_if(|l| table::is_row(l))).collect();
            let table = table::Table {
                header: line,
                aligns: &columns,
                rows: &rows,
                max_width: table_width,
            };
            table::render(&mut out, &mut first, &table, base);
            continue;
        }
        newline(&mut out, &mut first);
        if is_plain(line) {
            out.push(line, base);
        } else {
            render_line(&mut out, line, base, true);
        }
    }
    out.runs.shrink_to_fit();
    out
}

/// The lines of `input` as `split('\n')` gives them, found with `memchr`.
fn lines_of(input: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', input.as_bytes())
        .chain([input.len()])
        .map(move |end| {
            let line = &input[start..end];
            start = end + 1;
            line
        })
}

/// A line with nothing for markdown or the sanitiser to do: printable
/// ASCII, no inline markers, not starting like a block construct. Most
/// prose is; it is copied as is.
fn is_plain(line: &str) -> bool {
    starts_like_prose(line.as_bytes()) && line.bytes().all(plain_byte)
}

/// Printable ASCII that is not an inline marker. Branch-free, so that
/// whole texts are tested 16 bytes at a time.
fn plain_byte(b: u8) -> bool {
    crate::bytescan::is_printable_ascii(b) & (b != b'*') & (b != b'_') & (b != b'`')
}

/// The first non-space character is a letter: not a list, heading, quote,
/// rule or fence.
fn starts_like_prose(line: &[u8]) -> bool {
    let first = line.iter().find(|b| **b != b' ');
    first.is_some_and(|b| b.is_ascii_alphabetic())
}

fn newline(out: &mut StyledText, first: &mut bool) {
    if !std::mem::take(first) {
        // In the current style, so the newline does not start a new run.
        out.text.push('\n');
    }
}

fn leading_ws(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}

fn run_len(b: &[u8], from: usize, ch: u8) -> usize {
    b[from..].iter().take_while(|&&c| c == ch).count()
}

/// An opening fence: its character, its length and its info string.
fn fence_open(line: &str) -> Option<(u8, usize, &str)> {
    let rest = &line[leading_ws(line)..];
    let ch = *rest
        .as_bytes()
        .first()
        .filter(|c| matches!(c, b'`' | b'~'))?;
    let len = run_len(rest.as_bytes(), 0, ch);
    // A backtick fence's info string cannot contain backticks.
    let ok = len >= 3 && (ch == b'~' || !rest[len..].contains('`'));
    ok.then(|| (ch, len, rest[len..].trim()))
}

fn is_fence_close(line: &str, ch: u8, len: usize) -> bool {
    let rest = &line[leading_ws(line)..];
    let n = run_len(rest.as_bytes(), 0, ch);
    n >= len && rest[n..].trim().is_empty()
}

fn is_rule(rest: &str) -> bool {
    let rest = rest.trim_end();
    let Some(ch) = rest.chars().next().filter(|c| matches!(c, '-' | '*' | '_')) else {
        return false;
    };
    rest.chars().all(|c| c == ch || c == ' ' || c == '\t') && rest.matches(ch).count() >= 3
}

/// `# Title` → "Title"; `None` if not an ATX heading.
fn heading(rest: &str) -> Option<&str> {
    let hashes = run_len(rest.as_bytes(), 0, b'#');
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let text = &rest[hashes..];
    if !(text.is_empty() || text.starts_with([' ', '\t'])) {
        return None;
    }
    let text = text.trim();
    // Optional closing hashes, when separated by a space.
    let closed = text.trim_end_matches('#');
    Some(if closed.is_empty() || closed.ends_with([' ', '\t']) {
        closed.trim_end()
    } else {
        text
    })
}

/// Length of an ordered list marker like `12. ` or `3) `.
fn ordered_marker(rest: &str) -> Option<usize> {
    let b = rest.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let ok = (1..=9).contains(&digits)
        && matches!(b.get(digits), Some(b'.' | b')'))
        && matches!(b.get(digits + 1), Some(b' ' | b'\t'));
    ok.then_some(digits + 2)
}

fn render_line(out: &mut StyledText, line: &str, base: Style, allow_quote: bool) {
    let indent_len = leading_ws(line);
    let (indent, rest) = line.split_at(indent_len);
    if is_rule(rest) {
        sanitize_into(out, indent, base);
        out.push(&"─".repeat(RULE_WIDTH), base.patch(theme::DIM));
        return;
    }
    if let Some(text) = heading(rest) {
        sanitize_into(out, indent, base);
        inline(out, text, base.patch(theme::HEADING), 0);
        return;
    }
    if allow_quote && rest.starts_with('>') {
        sanitize_into(out, indent, base);
        let style = base.patch(theme::QUOTE);
        let mut rest = rest;
        // Iterative so that a line of a million '>' cannot recurse deeply.
        while let Some(r) = rest.strip_prefix('>') {
            out.push("▏ ", style);
            rest = r.trim_start_matches([' ', '\t']);
        }
        render_line(out, rest, style, false);
        return;
    }
    let bullet = rest.len() >= 2
        && matches!(rest.as_bytes()[0], b'-' | b'*' | b'+')
        && matches!(rest.as_bytes()[1], b' ' | b'\t');
    if bullet {
        sanitize_into(out, indent, base);
        out.push("• ", base.patch(theme::BULLET));
        inline(out, &rest[2..], base, 0);
        return;
    }
    if let Some(n) = ordered_marker(rest) {
        sanitize_into(out, indent, base);
        sanitize_into(out, &rest[..n], base.patch(theme::BULLET));
        inline(out, &rest[n..], base, 0);
        return;
    }
    inline(out, line, base, 0);
}

/// Caches "no valid closer at or after this offset" per delimiter, so a
/// line full of unmatched delimiters stays linear.
struct NoCloser {
    code: [usize; MAX_TICKS + 1],
    bold: usize,
    star: usize,
    under: usize,
}

/// Inline markup: `code`, **bold**, *italic*, _italic_.
fn inline(out: &mut StyledText, s: &str, style: Style, depth: u8) {
    // Printable ASCII throughout (most replies): the pieces need no
    // sanitising, so one test here spares one a piece.
    let plain = crate::bytescan::printable_ascii_len(s.as_bytes()) == s.len();
    inline_pieces(out, s, style, depth, plain);
}

/// Appends a piece of `inline`'s text: as it is when it is known `plain`.
fn piece(out: &mut StyledText, text: &str, style: Style, plain: bool) {
    if plain {
        out.push(text, style);
    } else {
        sanitize_into(out, text, style);
    }
}

fn inline_pieces(out: &mut StyledText, s: &str, style: Style, depth: u8, plain: bool) {
    let b = s.as_bytes();
    let mut cache = NoCloser {
        code: [usize::MAX; MAX_TICKS + 1],
        bold: usize::MAX,
        star: usize::MAX,
        under: usize::MAX,
    };
    let mut lit = 0;
    let mut i = 0;
    // From one delimiter to the next; what lies between is literal.
    while let Some(next) = delimiter::find(&b[i..]) {
        i += next;
        let ch = b[i];
        let n = run_len(b, i, ch);
        let open_end = i + n;
        if ch == b'`' {
            if n <= MAX_TICKS
                && let Some(close) = find_code_close(b, open_end, n, &mut cache.code[n])
            {
                piece(out, &s[lit..i], style, plain);
                let code = &s[open_end..close];
                // One space of padding each side is part of the syntax.
                let code = match code.strip_prefix(' ').and_then(|c| c.strip_suffix(' ')) {
                    Some(inner) if !inner.trim().is_empty() => inner,
                    _ => code,
                };
                piece(out, code, style.patch(theme::CODE), plain);
                i = close + n;
                lit = i;
                continue;
            }
        } else if depth < 2 && (n == 1 || (n == 2 && ch == b'*')) && opener_ok(b, i, n) {
            let (slot, emphasis) = match (ch, n) {
                (b'*', 2) => (&mut cache.bold, theme::BOLD),
                (b'*', _) => (&mut cache.star, theme::ITALIC),
                _ => (&mut cache.under, theme::ITALIC),
            };
            if let Some(close) = find_closer(b, open_end, n, ch, slot) {
                piece(out, &s[lit..i], style, plain);
                let inner = &s[open_end..close];
                inline_pieces(out, inner, style.patch(emphasis), depth + 1, plain);
                i = close + n;
                lit = i;
                continue;
            }
        }
        i = open_end;
    }
    piece(out, &s[lit..], style, plain);
}

/// Opening delimiter run at `i`: not after a word character, and
/// followed by something that is not a space.
fn opener_ok(b: &[u8], i: usize, n: usize) -> bool {
    let before_ok = i == 0 || !b[i - 1].is_ascii_alphanumeric();
    let after_ok = b.get(i + n).is_some_and(|c| !c.is_ascii_whitespace());
    before_ok && after_ok
}

/// Finds the closing run for an opener of `n` × `ch`: a run after a
/// non-space, not followed by a word character. A run of three may close
/// both an inner and an outer emphasis (`**a *b***`): take its last `n`.
fn find_closer(b: &[u8], from: usize, n: usize, ch: u8, no_closer: &mut usize) -> Option<usize> {
    if from >= *no_closer {
        return None;
    }
    let mut c = from;
    while let Some(p) = b[c..].iter().position(|&x| x == ch) {
        let at = c + p;
        let m = run_len(b, at, ch);
        let ok = (m == n || m == 3)
            && at > 0
            && !b[at - 1].is_ascii_whitespace()
            && b.get(at + m).is_none_or(|x| !x.is_ascii_alphanumeric());
        if ok {
            return Some(at + m - n);
        }
        c = at + m;
    }
    *no_closer = from;
    None
}

fn find_code_close(b: &[u8], from: usize, n: usize, no_closer: &mut usize) -> Option<usize> {
    if from >= *no_closer {
        return None;
    }
    let mut c = from;
    while let Some(p) = b[c..].iter().position(|&x| x == b'`') {
        let at = c + p;
        let run = run_len(b, at, b'`');
        if run == n {
            return Some(at);
        }
        c = at + run;
    }
    *no_closer = from;
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Modifier};

    fn pieces(t: &StyledText) -> Vec<(String, Style)> {
        t.pieces().map(|(s, st)| (s.to_owned(), st)).collect()
    }

    fn styled_as(t: &StyledText, needle: &str) -> Style {
        let at = t.text.find(needle).expect(needle);
        t.runs
            .iter()
            .rev()
            .find(|r| r.start as usize <= at)
            .map_or(Style::default(), |r| r.style)
    }

    fn md(s: &str) -> StyledText {
        render_markdown(s, Style::default())
    }

    #[test]
    fn headings() {
        let t = md("# Title\n###### Small ##\n#hashtag\n####### seven");
        assert_eq!(t.text, "Title\nSmall\n#hashtag\n####### seven");
        assert_eq!(styled_as(&t, "Title"), theme::HEADING);
        assert_eq!(styled_as(&t, "Small"), theme::HEADING);
        assert_eq!(styled_as(&t, "#hashtag"), Style::default());
    }

    #[test]
    fn fenced_code() {
        let t = md("before\n```text\nlet x = *y*;\n```\nafter\n~~~\nunclosed `x`");
        assert_eq!(t.text, "before\n│ let x = *y*;\nafter\n│ unclosed `x`");
        assert_eq!(styled_as(&t, "let x"), theme::CODE_BLOCK);
        assert_eq!(styled_as(&t, "after"), Style::default());
        assert_eq!(styled_as(&t, "unclosed"), theme::CODE_BLOCK);
        // A shorter fence does not close a longer one.
        assert_eq!(md("````\n```\n````\nx").text, "│ ```\nx");
    }

    #[test]
    fn lists_quotes_rules() {
        let t = md("- one\n  * two\n+ three\n1. first\n10) tenth\n-not a list");
        assert_eq!(
            t.text,
            "• one\n  • two\n• three\n1. first\n10) tenth\n-not a list"
        );
        assert_eq!(styled_as(&t, "•"), theme::BULLET);
        assert_eq!(styled_as(&t, "one"), Style::default());
        let t = md("> quoted *it*\n>> nested\n> - item");
        assert_eq!(t.text, "▏ quoted it\n▏ ▏ nested\n▏ • item");
        assert_eq!(styled_as(&t, "quoted"), theme::QUOTE);
        let t = md("a\n---\n* * *\nb");
        assert_eq!(t.text, format!("a\n{0}\n{0}\nb", "─".repeat(RULE_WIDTH)));
    }

    #[test]
    fn inline_markup() {
        let t = md("use `cargo test` and **bold** or *it* and _it2_ ok");
        assert_eq!(t.text, "use cargo test and bold or it and it2 ok");
        assert_eq!(styled_as(&t, "cargo"), theme::CODE);
        assert_eq!(styled_as(&t, "bold"), theme::BOLD);
        assert_eq!(styled_as(&t, "it "), theme::ITALIC);
        assert_eq!(styled_as(&t, "it2"), theme::ITALIC);
        assert_eq!(styled_as(&t, " ok"), Style::default());
        let t = md("**bold `code` *both***");
        assert_eq!(t.text, "bold code both");
        assert_eq!(styled_as(&t, "code"), theme::BOLD.patch(theme::CODE));
        assert_eq!(
            styled_as(&t, "both"),
            Style::default().add_modifier(Modifier::BOLD | Modifier::ITALIC)
        );
        assert_eq!(md("`` a`b ``").text, "a`b");
    }

    #[test]
    fn inline_is_conservative() {
        for s in [
            "snake_case_name and __init__",
            "2 * 3 * 4",
            "a*b*c",
            "unclosed `tick and *star",
            "** not bold **",
            "path/*/glob_",
        ] {
            let t = md(s);
            assert_eq!(t.text, s);
            assert_eq!(t.runs, [], "{s}");
        }
    }

    #[test]
    fn heading_style_is_relative_to_base() {
        let base = Style::default().bg(Color::Blue);
        let t = render_markdown("# T", base);
        assert_eq!(pieces(&t), [("T".to_owned(), base.patch(theme::HEADING))]);
    }

    #[test]
    fn escapes_stay_visible() {
        let t =
            md("# \x1b]0;pwned\x07Title\n```\n\x1b[2J\u{9b}\n```\n- `\x1b[?1049h` **\u{202e}x**");
        assert_eq!(
            t.text,
            "␛]0;pwnedTitle\n│ ␛[2J⟨U+009B⟩\n• ␛[?1049h ⟨U+202E⟩x"
        );
        assert_eq!(styled_as(&t, "␛]0;"), theme::HEADING.patch(theme::ESCAPED));
        for c in t.text.chars() {
            assert!(c == '\n' || !c.is_control());
        }
    }

    #[test]
    fn plain_prose_takes_the_shortcut() {
        assert!(is_plain_text(
            "Done. I changed two files,\n\n  and ran the tests."
        ));
        for not_plain in [
            "",
            "\nlate start",
            "ends\r\n",
            "a *b*",
            "- item",
            "tab\there",
            "café",
        ] {
            assert!(!is_plain_text(not_plain), "{not_plain:?}");
        }
    }

    #[test]
    fn pathological_lines_are_fast() {
        let line = "*a **b `c _d ".repeat(20_000) + &">".repeat(100_000);
        let t = md(&line);
        assert!(t.text.len() >= line.len() / 2);
        let quotes = "> ".repeat(50_000);
        assert_eq!(md(&quotes).text.matches('▏').count(), 50_000);
    }

    proptest::proptest! {
        /// The plain-prose shortcut renders exactly what the line renderer
        /// does, styles included, whenever it is taken.
        #[test]
        fn plain_shortcut_matches_the_line_renderer(
            any in "[ a-zA-Z0-9#>*_`~.\\-\n\r\u{1b}é]{0,60}",
            prose in "(( *[a-zA-Z][a-zA-Z .#>*_`-]{0,12})?\n){0,6}( *[a-zA-Z][a-z ]{0,8})?",
            marked in "[a-z]{1,3}( [*_`]{1,2}[a-z]{1,3}[*_`]{1,2}){0,3}",
            coloured in proptest::bool::ANY,
        ) {
            let base = if coloured { theme::ASSISTANT.bg(Color::Blue) } else { Style::default() };
            for text in [any, prose, marked] {
                proptest::prop_assert_eq!(
                    render_markdown(text.as_str(), base),
                    render_lines(&text, base, DEFAULT_TABLE_WIDTH)
                );
            }
        }
    }
}
