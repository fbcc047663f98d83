//! Line editing shared by every text area of the app (the message box,
//! the decision's edit and deny boxes, the search box): a key edits the
//! same way wherever the user types.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

/// Applies `key` to `area`. The textarea's own bindings, except where a
/// shell's line editing means something else: Ctrl+U deletes to the start
/// of the line (the textarea would undo, which silently keeps the text).
pub fn edit(area: &mut TextArea<'_>, key: KeyEvent) {
    if key.code == KeyCode::Char('u') && key.modifiers == KeyModifiers::CONTROL {
        area.delete_line_by_head();
        return;
    }
    area.input(key);
}

/// A printable character typed without Ctrl or Alt: text, wherever
/// text goes.
pub fn is_text(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char(_))
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(area: &mut TextArea<'_>, code: KeyCode, modifiers: KeyModifiers) {
        edit(area, KeyEvent::new(code, modifiers));
    }

    #[test]
    fn ctrl_u_clears_to_the_line_start_then_typing_replaces() {
        let mut area = TextArea::from(["ls -la; whoami"]);
        area.move_cursor(ratatui_textarea::CursorMove::End);
        press(&mut area, KeyCode::Char('u'), KeyModifiers::CONTROL);
        for c in "pwd; whoami".chars() {
            press(&mut area, KeyCode::Char(c), KeyModifiers::NONE);
        }
        assert_eq!(area.lines(), ["pwd; whoami"]);
    }
}
