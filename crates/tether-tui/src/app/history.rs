//! The input box's history: what was sent in this session, walked with
//! ↑/↓ like a shell's. Walking back keeps the draft being typed; walking
//! down past the newest entry brings it back.

#[derive(Debug, Default)]
pub struct History {
    /// Sent texts, oldest first.
    entries: Vec<String>,
    /// The entry shown, while walking; None while editing the draft.
    at: Option<usize>,
    /// What the box held when the walk started.
    draft: String,
}

impl History {
    /// Remembers a sent text (not twice in a row) and ends any walk.
    pub fn record(&mut self, text: &str) {
        if self.entries.last().is_none_or(|last| last != text) {
            self.entries.push(text.to_owned());
        }
        self.at = None;
        self.draft.clear();
    }

    /// The text before the one shown; `current` is what the box holds
    /// (kept as the draft when the walk starts). None at the oldest.
    pub fn back(&mut self, current: &str) -> Option<&str> {
        let at = match self.at {
            None if self.entries.is_empty() => return None,
            None => {
                self.draft = current.to_owned();
                self.entries.len() - 1
            }
            Some(0) => return None,
            Some(at) => at - 1,
        };
        self.at = Some(at);
        Some(&self.entries[at])
    }

    /// The text after the one shown, then the draft; None when not walking.
    pub fn forward(&mut self) -> Option<String> {
        let at = self.at?;
        if at + 1 < self.entries.len() {
            self.at = Some(at + 1);
            Some(self.entries[at + 1].clone())
        } else {
            self.at = None;
            Some(std::mem::take(&mut self.draft))
        }
    }

    /// Texts sent in earlier runs, oldest first, before this run's.
    pub fn preload(&mut self, earlier: Vec<String>) {
        let mut entries = earlier;
        entries.append(&mut self.entries);
        self.entries = entries;
        self.at = None;
    }

    /// The newest entry containing `query` (ASCII case ignored) older than
    /// entry `before` (all when None), with its index.
    pub fn find(&self, query: &str, before: Option<usize>) -> Option<(usize, &str)> {
        let query = query.to_ascii_lowercase();
        let end = before.unwrap_or(self.entries.len()).min(self.entries.len());
        self.entries[..end]
            .iter()
            .enumerate()
            .rev()
            .find(|(_, e)| e.to_ascii_lowercase().contains(&query))
            .map(|(at, e)| (at, e.as_str()))
    }

    /// Entry `at` (oldest first).
    pub fn entry(&self, at: usize) -> Option<&str> {
        self.entries.get(at).map(String::as_str)
    }

    /// Whether ↑/↓ are walking the history (rather than editing).
    pub fn walking(&self) -> bool {
        self.at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::History;

    #[test]
    fn walks_back_newest_first_and_returns_to_the_draft() {
        let mut history = History::default();
        assert_eq!(history.back("draft"), None);
        history.record("one");
        history.record("two");
        history.record("two");
        assert_eq!(history.back("draft"), Some("two"));
        assert_eq!(history.back("two"), Some("one"));
        assert_eq!(history.back("one"), None, "stops at the oldest");
        assert_eq!(history.forward().as_deref(), Some("two"));
        assert_eq!(history.forward().as_deref(), Some("draft"));
        assert!(!history.walking());
        assert_eq!(history.forward(), None);
    }
}
