use super::*;

fn pieces(t: &StyledText) -> Vec<(&str, Style)> {
    t.pieces().collect()
}

fn assert_safe(s: &str) {
    for c in s.chars() {
        assert!(c == '\n' || !c.is_control(), "control {c:?} in {s:?}");
        assert!(!is_bidi_or_separator(c), "bidi {c:?} in {s:?}");
    }
}

#[test]
fn styles_and_split_sequences_continue_across_chunks() {
    let base = Style::default();
    let (first, style) = sanitize_from("\u{1b}[31mred ", base, base);
    assert_eq!(first.text, "red ");
    let (second, _) = sanitize_from("still red\u{1b}[0m plain", base, style);
    assert_eq!(second.runs[0].style.fg, Some(ratatui::style::Color::Red));
    assert_eq!(unfinished_escape("text \u{1b}[3"), 3);
    assert_eq!(unfinished_escape("text \u{1b}]0;tit"), 7);
    assert_eq!(unfinished_escape("text \u{1b}[31m done"), 0);
    assert_eq!(unfinished_escape("no escape"), 0);
}

#[test]
fn sgr_becomes_runs() {
    let d = Style::default();
    let t = sanitize("a\x1b[31mred\x1b[0mb\x1b[1;38;5;200mx\x1b[m", d);
    let x = d.add_modifier(Modifier::BOLD).fg(Color::Indexed(200));
    let expected = [("a", d), ("red", d.fg(Color::Red)), ("b", d), ("x", x)];
    assert_eq!(pieces(&t), expected);
    let s = |i: &str| sanitize(i, d).runs[0].style;
    assert_eq!(s("\x1b[38;2;1;2;3mx").fg, Some(Color::Rgb(1, 2, 3)));
    assert_eq!(s("\x1b[48:2::4:5:6mx").bg, Some(Color::Rgb(4, 5, 6)));
    assert_eq!(s("\x1b[38:2:7:8:9mx").fg, Some(Color::Rgb(7, 8, 9)));
    assert_eq!(s("\x1b[48:5:17mx").bg, Some(Color::Indexed(17)));
    let bright = d.fg(Color::LightBlue).bg(Color::LightRed);
    assert_eq!(s("\x1b[94;101mx"), bright);
    // Underline colour arguments are not read as codes (4 = underline).
    assert_eq!(s("\x1b[58;5;4;3mx"), d.add_modifier(Modifier::ITALIC));
    // Hidden is ignored (text stays visible), unknown codes too.
    assert_eq!(sanitize("\x1b[8;73mx", d).runs, []);
    // Relative to the base style.
    let base = d.fg(Color::Green);
    let t = sanitize("\x1b[31ma\x1b[39mb\x1b[1;0mc", base);
    assert_eq!(pieces(&t), [("a", base.fg(Color::Red)), ("bc", base)]);
}

#[test]
fn osc_is_visible_and_capped() {
    let t = sanitize("x\x1b]0;evil title\x07y\x1b]2;t2\x1b\\z", Style::default());
    assert_eq!(t.text, "x␛]0;evil titley␛]2;t2z");
    assert_eq!(pieces(&t)[1], ("␛]0;evil title", theme::ESCAPED));
    let payload = "A".repeat(100_000);
    let out = sanitize_plain(&format!("\x1b]52;c;{payload}\x07after"));
    assert!(out.starts_with("␛]52;c;AAA") && out.ends_with("…after"));
    assert!(out.chars().count() < MAX_VISIBLE + 10);
}

#[test]
fn everything_else_is_visible() {
    // "input ⇒ expected"; '|' just separates sub-cases.
    let cases = [
        "\x1b]52;c;aGVsbG8=\x07|\x1b]0;t ⇒ ␛]52;c;aGVsbG8=|␛]0;t",
        "\x1b[2Ja\x1b[10;20Hb\x1b[?1049h\x1b[?25l ⇒ ␛[2Ja␛[10;20Hb␛[?1049h␛[?25l",
        "\x1b7x\x1b8\x1b(B\x1bc|\x1b[>4;1m|\x1b ⇒ ␛7x␛8␛(B␛c|␛[>4;1m|␛",
        // Malformed CSI that vte drops silently, one cut by ESC, one by CAN.
        "\x1b[1?hx|\x1b[12\x1b[3Jx|\x1b[31\x18x ⇒ ␛[1?hx|␛[12␛[3Jx|␛[31␘x",
        "\x1bPq#0;2\x1b\\x|\x1b_hidden\x1b\\x|\x1bXsos ⇒ ␛Pq#0;2x|␛_hiddenx|␛Xsos",
        "a\u{9b}31mb\u{85}\u{9d}0;t ⇒ a⟨U+009B⟩31mb⟨U+0085⟩⟨U+009D⟩0;t",
        "\u{202e}abc\u{2066}|a\x07b\x7fc\x00 ⇒ ⟨U+202E⟩abc⟨U+2066⟩|a␇b␡c␀",
        "a\tb\n\tb\n中\tb ⇒ a       b\n        b\n中      b",
        "12345678\tb\nx\ty ⇒ 12345678        b\nx       y",
        "a\r\nb\r\n|a\rb|a\r\r\nb\r ⇒ a\nb\n|a␍b|a␍\nb␍",
    ];
    for case in cases {
        let (input, expected) = case.split_once(" ⇒ ").unwrap();
        assert_eq!(sanitize_plain(input), expected, "{input:?}");
    }
}

#[test]
fn nasty_inputs_are_always_safe() {
    let nasty = [
        "\x1b]0;x\x07\x1b]52;c;Zm9v\x1b\\\x1b[2J\x1b[H\x1bP+q\x1b\\",
        "\u{9b}2J\u{9d}0;t\u{9c}\u{90}q\u{9c}\x1b\x1b\x1b[\x1b]\x1bP\x1b",
        "\x1b[31\n2m\x1b]0;\na\x07\x1bPq\u{41C}rest\x1b[0m\x1b[38;2;999;1;1m",
        "\u{202e}\u{2067}\u{200f}\u{61c}\r",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"\x1b[];?0123456789mPX_^\\\x07\x18\x1a\r\n\t\x7fa :";
    let random = (0..2000).map(|_| {
        let len = (next() % 64) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| match next() % 3 {
                0 => next() as u8,
                _ => alphabet[(next() % alphabet.len() as u64) as usize],
            })
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    });
    for input in nasty.map(String::from).into_iter().chain(random) {
        let out = sanitize(&input, Style::default());
        assert_safe(&out.text);
        assert!(out.runs.windows(2).all(|w| w[0].start < w[1].start));
    }
}

#[test]
fn big_input_is_fine() {
    let chunk = "plain text \x1b[1mbold\x1b[0m 中文 \x1b]0;t\x07\ttab\r\n";
    let out = sanitize(&chunk.repeat(50_000), Style::default());
    assert_eq!(out.line_count(), 50_001);
    assert_safe(&out.text);
}

proptest::proptest! {
    /// The shortcuts (ASCII runs, newlines, colour sequences) give
    /// exactly what feeding every byte to vte gives.
    #[test]
    fn shortcuts_match_the_byte_path(
        input in "(\u{1b}\\[[0-9;]{0,6}m|\u{1b}[\\[\\]P_]?|[ a-z0-9;\\[\\]\\\\m\n\r\t\u{7}\u{7f}\u{9b}é€\u{202e}日\u{301}\u{a0}\u{200b}]){0,40}",
        current_red in proptest::bool::ANY,
    ) {
        let base = theme::STDERR;
        let current = if current_red { base.fg(Color::Red) } else { base };
        assert_shortcuts_match(&input, base, current);
    }
}

#[test]
fn a_plain_run_stops_exactly_at_the_characters_print_would_escape() {
    for c in (0x20..0x11_0000).filter_map(char::from_u32) {
        let text = format!("a{c}b");
        let escaped = c.is_control() || is_bidi_or_separator(c);
        let expected = if escaped { 1 } else { text.len() };
        assert_eq!(
            plain_run(&text),
            (expected, escaped || c.is_ascii()),
            "{c:?}"
        );
    }
}

#[test]
fn tab_stops_count_the_width_of_wide_and_zero_width_text() {
    // 日 is two columns, U+0301 none: the tab goes to column 8 either way.
    for text in ["日本\u{301}x\ty", "\u{1b}[31m日\u{1b}[0m本\u{301}x\ty"] {
        let out = sanitize(text, Style::default());
        assert_eq!(out.text, "日本\u{301}x   y", "{text:?}");
    }
}
