//! Making text fit a width without cutting words: whole pieces are
//! dropped, names are ellipsized.

use unicode_width::UnicodeWidthStr;

pub fn width(text: &str) -> usize {
    text.width()
}

/// `text` cut to `max` columns, its end replaced by `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `text` cut to `max` columns from the left (`…/src/tether`), for paths
/// whose end says the most.
pub fn truncate_left(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        used += w;
        kept.push(c);
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

/// A request's summary in `max` columns: a path keeps its file name (the
/// directory is cut: `…/project/notes.md`); other text keeps its start.
pub fn summary(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    let file = text.rsplit('/').next().unwrap_or(text);
    let is_path = text.contains('/') && !text.trim_start().contains(' ');
    if is_path && width(file) < max {
        // Cut at a directory's edge: `…/src/notes.md`, not `…ct/src/…`.
        let tail = truncate_left(text, max);
        return match tail.find('/') {
            Some(at) => format!("…{}", &tail[at..]),
            None => tail,
        };
    }
    truncate(text, max)
}

/// A directory as shown: the home prefix as `~`, at most `max` columns.
pub fn short_path(path: &str, home: Option<&str>, max: usize) -> String {
    let home = home
        .map(|h| h.trim_end_matches('/'))
        .filter(|h| !h.is_empty());
    let tilde = match home {
        Some(home) if path == home => "~".to_owned(),
        Some(home) => match path.strip_prefix(home) {
            Some(rest) if rest.starts_with('/') => format!("~{rest}"),
            _ => path.to_owned(),
        },
        None => path.to_owned(),
    };
    truncate_left(&tilde, max)
}

/// "42s", "3m05s", "1h02m": a running clock.
pub fn clock(elapsed: std::time::Duration) -> String {
    let secs = elapsed.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_keeps_a_paths_file_name_and_a_commands_start() {
        let path = "/home/me/project/src/notes.md";
        assert_eq!(summary(path, 40), path);
        assert_eq!(summary(path, 16), "…/src/notes.md");
        assert_eq!(summary("cargo build --release --all", 12), "cargo build…");
        assert_eq!(summary("/a/very-long-file-name.rs", 8), "/a/very…");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("alice", 5), "alice");
        assert_eq!(truncate("alexandra", 5), "alex…");
        assert_eq!(truncate_left("/home/a/src/tether", 8), "…/tether");
    }

    #[test]
    fn paths_shorten_home_then_from_the_left() {
        assert_eq!(short_path("/home/a/src", Some("/home/a"), 30), "~/src");
        assert_eq!(short_path("/home/a", Some("/home/a/"), 30), "~");
        assert_eq!(short_path("/home/ab", Some("/home/a"), 30), "/home/ab");
        assert_eq!(short_path("/srv/projects/tether", None, 10), "…ts/tether");
    }

    #[test]
    fn clocks_read_as_minutes_and_seconds() {
        assert_eq!(clock(std::time::Duration::from_secs(65)), "1m05s");
    }
}
