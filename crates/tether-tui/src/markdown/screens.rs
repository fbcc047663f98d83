//! The whole screen at 80 columns with a table and a highlighted code
//! block in an assistant reply: the text as drawn, then the foreground
//! colours of the code rows (runs of one colour, `·` for the default).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use crate::protocol::{EventKind, Role};
use crate::tui::app::tests::{Rig, record};
use crate::tui::ui;

const REPLY: &str = "Here is the plan:

| Step | File | Lines |
|:-----|:-----|------:|
| parse | `src/parse.rs` | 120 |
| check **types** | src/types/mod.rs | 8 |
| émit | out.rs | 1024 |

```rust
/// Doubles it.
fn double(x: u32) -> u32 {
    let s = \"\u{1b}[2J\"; // never raw
    x * 2
}
```
Done.";

fn screen(width: u16, height: u16) -> (String, Buffer) {
    let mut rig = Rig::new(Role::Owner, false);
    rig.event(record(1, EventKind::Assistant { text: REPLY.into() }));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| ui::draw(&mut rig.app, frame))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    (terminal.backend().to_string(), buffer)
}

/// For each row of a code block (inside the transcript pane, `TO`
/// columns wide): its cells grouped by foreground.
fn code_colours(buffer: &Buffer) -> String {
    const TO: u16 = 49;
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let cells: Vec<_> = (1..TO).map(|x| &buffer[(x, y)]).collect();
        let row: String = cells.iter().map(|c| c.symbol()).collect();
        if !row.starts_with("│ ") {
            continue;
        }
        let mut line = format!("{y:>2}:");
        let mut current = None;
        for cell in cells.iter().filter(|c| !c.symbol().trim().is_empty()) {
            if current != Some(cell.fg) {
                current = Some(cell.fg);
                line.push_str(&format!(" [{:?}]", cell.fg));
            }
            line.push_str(cell.symbol());
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn a_table_and_a_highlighted_block_at_80_columns() {
    let (text, buffer) = screen(80, 30);
    insta::assert_snapshot!(format!("{text}\n{}", code_colours(&buffer)));
    assert!(!text.contains('\u{1b}'));
}
