//! A pane's frame: plain borders with the title on the top edge, exactly
//! as a bordered `Block` draws them. `Block` also restyles every cell it
//! encloses, every frame; the panes redrawn for each frame of a stream
//! (transcript, requests, participants) skip that work.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::border;
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::{border_style, pane_block};

/// Draws the frame of a pane titled `title` over `area` and returns the
/// area inside it.
pub fn draw(buf: &mut Buffer, area: Rect, title: Line<'static>, focused: bool) -> Rect {
    let area = area.intersection(buf.area);
    if area.width < 2 || area.height < 2 {
        // Degenerate: Block's own corner rules apply.
        let block = pane_block(title, focused);
        let inner = block.inner(area);
        block.render(area, buf);
        return inner;
    }
    let style = border_style(focused);
    let set = border::PLAIN;
    let (left, right) = (area.left(), area.right() - 1);
    let (top, bottom) = (area.top(), area.bottom() - 1);
    for x in left + 1..right {
        put(buf, x, top, set.horizontal_top, style);
        put(buf, x, bottom, set.horizontal_bottom, style);
    }
    for y in top + 1..bottom {
        put(buf, left, y, set.vertical_left, style);
        put(buf, right, y, set.vertical_right, style);
    }
    put(buf, left, top, set.top_left, style);
    put(buf, right, top, set.top_right, style);
    put(buf, left, bottom, set.bottom_left, style);
    put(buf, right, bottom, set.bottom_right, style);
    buf.set_line(left + 1, top, &title, area.width - 2);
    Rect::new(left + 1, top + 1, area.width - 2, area.height - 2)
}

fn put(buf: &mut Buffer, x: u16, y: u16, symbol: &str, style: Style) {
    buf[(x, y)].set_symbol(symbol).set_style(style);
}

#[cfg(test)]
mod tests {
    use ratatui::text::Span;

    use crate::tui::theme;

    use super::*;

    #[test]
    fn the_frame_is_the_same_as_a_bordered_blocks() {
        let titles = || {
            [
                Line::from(" Transcript "),
                Line::from(vec![
                    Span::raw(" Participants (3) "),
                    Span::styled("(scrolled) ", theme::WARN),
                ]),
                Line::from(" 名前のとても長いタイトル、枠より長い "),
                Line::from(""),
            ]
        };
        for (w, h) in [(40, 10), (12, 3), (2, 2), (1, 5), (5, 1), (3, 2), (0, 0)] {
            for (title, focused) in titles().into_iter().zip([true, false, true, false]) {
                let screen = Rect::new(0, 0, 44, 12);
                let area = Rect::new(2, 1, w, h);
                let mut ours = Buffer::empty(screen);
                let inner = draw(&mut ours, area, title.clone(), focused);
                let mut theirs = Buffer::empty(screen);
                let block = pane_block(title, focused);
                assert_eq!(inner, block.inner(area), "{w}x{h}");
                block.render(area, &mut theirs);
                assert_eq!(ours, theirs, "{w}x{h}");
            }
        }
    }
}
