//! Fenced code blocks: each line behind a `│ ` gutter, highlighted by the
//! block's language tag when it names a grammar, plain otherwise.

use ratatui::style::Style;

use super::newline;
use crate::tui::highlight;
use crate::tui::sanitize::sanitize;
use crate::tui::text::StyledText;
use crate::tui::theme;

/// Appends the block of `lines` (untrusted) opened with `info`.
pub(super) fn render_block(
    out: &mut StyledText,
    first: &mut bool,
    info: &str,
    lines: &[&str],
    base: Style,
) {
    let style = base.patch(theme::CODE_BLOCK);
    // Each line is sanitised on its own, as shown, before the highlighter
    // sees it: an escape sequence cannot run into the next line, and the
    // highlighter only ever reads safe text.
    let sanitized: Vec<StyledText> = lines.iter().map(|line| sanitize(line, style)).collect();
    let painted = highlight::syntax_for_tag(info)
        .and_then(|syntax| highlight::paint_lines(syntax, &sanitized, style));
    for line in painted.as_ref().unwrap_or(&sanitized) {
        newline(out, first);
        out.push("│ ", style);
        out.append(line);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use ratatui::style::Color;

    use super::*;
    use crate::tui::markdown::render_markdown;

    fn md(s: &str) -> StyledText {
        render_markdown(s, theme::ASSISTANT)
    }

    fn colours_of(t: &StyledText) -> HashSet<Option<Color>> {
        t.pieces()
            .filter(|(piece, _)| !piece.trim().is_empty() && *piece != "│ ")
            .map(|(_, style)| style.fg)
            .collect()
    }

    #[test]
    fn a_rust_block_gets_more_than_one_colour() {
        let t = md("Look:\n```rust\nfn main() {\n    let s = \"hi\"; // greet\n}\n```\ndone");
        assert_eq!(
            t.text,
            "Look:\n│ fn main() {\n│     let s = \"hi\"; // greet\n│ }\ndone"
        );
        assert!(colours_of(&t).len() > 2, "{:?}", t.runs);
        // The background (none here) and the gutter are the block's own.
        let gutter = t.pieces().find(|(p, _)| *p == "│ ").unwrap().1;
        assert_eq!(gutter, theme::ASSISTANT.patch(theme::CODE_BLOCK));
    }

    #[test]
    fn an_unknown_language_stays_plain() {
        for fence in ["```", "```no-such-lang", "~~~text"] {
            let t = md(&format!(
                "{fence}\nfn main() {{}}\nlet x = 1;\n{}",
                &fence[..3]
            ));
            assert_eq!(t.text, "│ fn main() {}\n│ let x = 1;");
            let block = theme::ASSISTANT.patch(theme::CODE_BLOCK);
            assert!(t.pieces().all(|(_, style)| style == block), "{fence}");
        }
    }

    #[test]
    fn escapes_in_a_highlighted_block_stay_visible() {
        let t =
            md("```rust\nlet a = \"\u{1b}[2J\u{1b}]0;x\u{7}\";\n// \u{9b}31m \u{1b}[31mred\n```");
        assert!(!t.text.contains('\u{1b}') && !t.text.contains('\u{9b}'));
        assert!(
            t.text.chars().all(|c| c == '\n' || !c.is_control()),
            "{:?}",
            t.text
        );
        assert!(t.text.contains("␛[2J"), "{:?}", t.text);
        // The visible escapes keep their own style.
        let escaped = t.pieces().find(|(p, _)| p.contains('␛')).unwrap().1;
        assert_eq!(escaped.add_modifier, theme::ESCAPED.add_modifier);
    }

    #[test]
    fn a_block_is_highlighted_once_however_often_the_reply_renders() {
        let reply = "Streaming:\n```python\ndef highlighted_once_test():\n    return 42\n```\nand ";
        let before = highlight::highlight_passes();
        let first = md(reply);
        // A streamed reply re-renders as fragments arrive; the finished
        // block is not highlighted again.
        for more in ["more", "more text", "more text here"] {
            let later = md(&format!("{reply}{more}"));
            assert!(later.text.starts_with(&first.text));
        }
        assert_eq!(highlight::highlight_passes(), before + 1);
    }
}
