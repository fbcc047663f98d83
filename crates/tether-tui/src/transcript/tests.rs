//! The transcript's own tests: line starts, growing the view.
use super::*;

#[test]
fn growing_the_view_while_scrolled_up_leaves_no_blank_rows() {
    let mut transcript = Transcript::new();
    let text: String = (1..=30).map(|n| format!("line {n}\n")).collect();
    transcript.push(Block::new(
        BlockKind::Stdout,
        1,
        StyledText::plain(text, Style::default()),
    ));
    transcript.set_view(40, 10);
    transcript.scroll_up(5);
    assert!(!transcript.following());
    // Taller than what is left below the top: the end shows, full.
    transcript.set_view(40, 28);
    let lines = transcript.visible_lines(40, 28);
    assert_eq!(lines.len(), 28);
    assert_eq!(lines.last().unwrap().to_string(), "line 30");
    assert!(transcript.following());
}

#[test]
fn line_starts_are_exact_for_short_and_long_blocks() {
    for lines in [1, 2, 63, 64, 65, 200] {
        let text = "ab\n".repeat(lines - 1) + "end";
        let starts = super::line_starts(&text);
        let expected: Vec<u32> = (0..lines as u32).map(|i| i * 3).collect();
        assert_eq!(starts, expected, "{lines} lines");
        assert_eq!(starts.capacity(), lines, "{lines} lines");
    }
}
