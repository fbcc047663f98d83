//! A vt100 screen as an SVG picture: one `<rect>` per run of cells with
//! the same background, one `<text>` per run of cells with the same style,
//! colours kept, a monospace font on a dark background. Enough for the
//! README's screenshots; no cursor, no blinking.

use std::fmt::Write;

use vt100::Color;

const CELL_WIDTH: f64 = 8.4;
const LINE_HEIGHT: f64 = 17.0;
const FONT_SIZE: f64 = 14.0;
const PADDING: f64 = 14.0;
const BACKGROUND: &str = "#14161b";
const FOREGROUND: &str = "#d6dae0";

/// xterm's sixteen colours, a little softened for a dark background.
const PALETTE: [&str; 16] = [
    "#1c1f26", "#e5534b", "#57ab5a", "#c69026", "#539bf5", "#b083f0", "#39c5cf", "#c9d1d9",
    "#636e7b", "#ff7b72", "#7ee787", "#e3b341", "#79c0ff", "#d2a8ff", "#56d4dd", "#f0f6fc",
];

/// How a run of cells looks.
#[derive(Debug, Clone, PartialEq)]
struct Style {
    fg: String,
    bg: Option<String>,
    bold: bool,
    italic: bool,
    underline: bool,
    dim: bool,
}

fn colour(color: Color) -> Option<String> {
    match color {
        Color::Default => None,
        Color::Idx(n) if n < 16 => Some(PALETTE[n as usize].to_owned()),
        Color::Idx(n) if n < 232 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            let n = n - 16;
            let (r, g, b) = (level(n / 36), level(n / 6 % 6), level(n % 6));
            Some(format!("#{r:02x}{g:02x}{b:02x}"))
        }
        Color::Idx(n) => {
            let grey = 8 + 10 * (n - 232);
            Some(format!("#{grey:02x}{grey:02x}{grey:02x}"))
        }
        Color::Rgb(r, g, b) => Some(format!("#{r:02x}{g:02x}{b:02x}")),
    }
}

fn style_of(cell: &vt100::Cell) -> Style {
    let mut fg = colour(cell.fgcolor()).unwrap_or_else(|| FOREGROUND.to_owned());
    let mut bg = colour(cell.bgcolor());
    if cell.inverse() {
        let old_bg = bg.unwrap_or_else(|| BACKGROUND.to_owned());
        bg = Some(fg);
        fg = old_bg;
    }
    Style {
        fg,
        bg,
        bold: cell.bold(),
        italic: cell.italic(),
        underline: cell.underline(),
        dim: cell.dim(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One row cut into runs of equal style: (first column, columns, text, style).
fn runs(screen: &vt100::Screen, row: u16) -> Vec<(u16, u16, String, Style)> {
    let (_, cols) = screen.size();
    let mut runs: Vec<(u16, u16, String, Style)> = Vec::new();
    for col in 0..cols {
        let Some(cell) = screen.cell(row, col) else {
            continue;
        };
        if cell.is_wide_continuation() {
            continue;
        }
        let style = style_of(cell);
        let text = if cell.has_contents() {
            cell.contents().to_owned()
        } else {
            " ".to_owned()
        };
        let width = if cell.is_wide() { 2 } else { 1 };
        match runs.last_mut() {
            Some((start, len, run, last)) if *last == style && *start + *len == col => {
                run.push_str(&text);
                *len += width;
            }
            _ => runs.push((col, width, text, style)),
        }
    }
    runs
}

/// The screen as a standalone SVG document.
pub fn render(screen: &vt100::Screen, title: &str) -> String {
    let (rows, cols) = screen.size();
    let width = PADDING * 2.0 + f64::from(cols) * CELL_WIDTH;
    let height = PADDING * 2.0 + f64::from(rows) * LINE_HEIGHT;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.1} {height:.1}" role="img" aria-label="{title}">"#,
        title = escape(title)
    );
    let _ = writeln!(svg, "<title>{}</title>", escape(title));
    let _ = writeln!(
        svg,
        r#"<rect width="100%" height="100%" rx="8" fill="{BACKGROUND}"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<g font-family="ui-monospace, 'DejaVu Sans Mono', 'Cascadia Mono', Menlo, Consolas, monospace" font-size="{FONT_SIZE}" xml:space="preserve">"#
    );
    for row in 0..rows {
        let top = PADDING + f64::from(row) * LINE_HEIGHT;
        let runs = runs(screen, row);
        for (col, len, _, style) in &runs {
            if let Some(bg) = &style.bg {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{LINE_HEIGHT}" fill="{bg}"/>"#,
                    PADDING + f64::from(*col) * CELL_WIDTH,
                    f64::from(*len) * CELL_WIDTH
                );
            }
        }
        for (col, len, text, style) in runs {
            let shown = text.trim_end();
            if shown.is_empty() {
                continue;
            }
            // Trailing spaces are one column each.
            let len = len - (text.len() - shown.len()) as u16;
            let mut attributes = format!(r#" fill="{}""#, style.fg);
            if style.bold {
                attributes.push_str(r#" font-weight="bold""#);
            }
            if style.italic {
                attributes.push_str(r#" font-style="italic""#);
            }
            if style.underline {
                attributes.push_str(r#" text-decoration="underline""#);
            }
            if style.dim {
                attributes.push_str(r#" opacity="0.6""#);
            }
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" textLength="{:.1}"{attributes}>{}</text>"#,
                PADDING + f64::from(col) * CELL_WIDTH,
                top + LINE_HEIGHT * 0.77,
                f64::from(len) * CELL_WIDTH,
                escape(shown)
            );
        }
    }
    svg.push_str("</g>\n</svg>\n");
    svg
}

#[test]
fn renders_styled_runs_with_their_colours_and_escapes_text() {
    let mut parser = vt100::Parser::new(2, 20, 0);
    parser.process(b"plain \x1b[1;31mred<&>\x1b[0m \x1b[7minv\x1b[0m");
    let svg = render(parser.screen(), "a <test>");
    assert!(svg.contains("aria-label=\"a &lt;test&gt;\""), "{svg}");
    assert!(svg.contains(r##"fill="#d6dae0">plain</text>"##), "{svg}");
    assert!(
        svg.contains(r##"fill="#e5534b" font-weight="bold">red&lt;&amp;&gt;</text>"##),
        "{svg}"
    );
    // Inverse: the default colours swapped, the background drawn.
    assert!(svg.contains(r##"fill="#d6dae0"/>"##), "{svg}");
    assert!(svg.contains(r##"fill="#14161b">inv</text>"##), "{svg}");
    assert_eq!(svg.matches("<text").count(), 3, "{svg}");
}
