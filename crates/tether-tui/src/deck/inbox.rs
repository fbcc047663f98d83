//! The inbox: every permission request waiting, in every session on every
//! host, from the lobbies' summaries. Those this client may answer come
//! first (they are what the counts count), oldest first; those of
//! sessions someone else owns are listed apart. An answer given in the
//! inbox is confirmed there, and the inbox closes once nothing is left
//! for the user to answer.

use std::time::{Instant, SystemTime};

use crossterm::event::{KeyEvent, KeyModifiers};

use super::{Deck, DeckEffect, Panel, SessionKey};
use crate::protocol::{ClientMessage, Decision, Grant};
use crate::tui::app::ownership::Ownership;
use crate::tui::app::{Effect, Level, Msg, StatusLine};
use crate::tui::keymap::{Action, Context, lookup};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub key: SessionKey,
    pub request_id: String,
    pub tool: String,
    pub title: Option<String>,
    /// The command, or the file an edit changes.
    pub subject: Option<String>,
    /// When it was raised (the host's RFC 3339 time).
    pub requested_at: String,
    /// Who owns the session (and so answers), if anyone.
    pub owner: Option<String>,
    /// This client may answer it: it owns the session, or nobody does and
    /// it may take it (answering claims it).
    pub yours: bool,
}

impl InboxEntry {
    /// What the request is about, in a few words.
    pub fn what(&self) -> String {
        match (&self.subject, &self.title) {
            (Some(subject), _) => format!("{} {subject}", self.tool),
            (None, Some(title)) => title.clone(),
            (None, None) => self.tool.clone(),
        }
    }
}

impl Deck {
    /// Every request waiting: this client's to answer first, then the
    /// others', each oldest first.
    pub fn inbox(&self) -> Vec<InboxEntry> {
        let mut entries = Vec::new();
        for (host, view) in self.hosts.iter().enumerate() {
            for summary in view.sessions.values() {
                let key = SessionKey {
                    host,
                    id: summary.id.clone(),
                };
                let yours = self.yours_to_answer(&key, summary.owner.as_deref());
                for request in &summary.pending_requests {
                    entries.push(InboxEntry {
                        key: key.clone(),
                        request_id: request.request_id.clone(),
                        tool: request.tool.clone(),
                        title: request.title.clone(),
                        subject: request.subject.clone(),
                        requested_at: request.requested_at.clone(),
                        owner: summary.owner.clone(),
                        yours,
                    });
                }
            }
        }
        // Hosts without a lobby: what the open sessions know.
        for tab in &self.tabs {
            let lobby_lists = self.hosts[tab.key.host].sessions.contains_key(&tab.key.id);
            if lobby_lists {
                continue;
            }
            let app = &tab.app;
            let yours = !self.view_mode
                && (app.is_owner() || app.ownership() == Ownership::Free { claimable: true });
            for pending in &app.pending {
                entries.push(InboxEntry {
                    key: tab.key.clone(),
                    request_id: pending.request_id.clone(),
                    tool: pending.tool.clone(),
                    title: pending.title.clone(),
                    subject: Some(pending.summary.clone()).filter(|s| !s.is_empty()),
                    requested_at: pending
                        .raised
                        .map(crate::protocol::rfc3339)
                        .unwrap_or_default(),
                    owner: None,
                    yours,
                });
            }
        }
        entries.sort_by(|a, b| (!a.yours, &a.requested_at).cmp(&(!b.yours, &b.requested_at)));
        entries
    }

    /// Whether this client may answer the requests of session `key`, owned
    /// by `owner`: not read-only, allowed to control, and the owner is this
    /// identity or nobody (answering then claims the session). A host that
    /// does not say who we are is asked of the session's connection, if
    /// open; else its requests count as ours, as they always did.
    fn yours_to_answer(&self, key: &SessionKey, owner: Option<&str>) -> bool {
        if self.view_mode {
            return false;
        }
        let you = self.hosts.get(key.host).and_then(|h| h.you.as_ref());
        if let Some(you) = you {
            return you.grants.contains(&Grant::Control)
                && owner.is_none_or(|owner| owner == you.identity);
        }
        let known = self
            .tabs
            .iter()
            .filter(|t| t.key.host == key.host)
            .find_map(|t| t.app.me.as_ref());
        match (owner, known) {
            (Some(owner), Some(me)) => owner == me.identity,
            _ => true,
        }
    }

    /// The inbox list's rows: its requests, the heading of those others
    /// answer, and its last word.
    pub fn inbox_rows(&self) -> usize {
        let entries = self.inbox();
        let others = entries.iter().any(|e| !e.yours);
        entries.len() + usize::from(others) + usize::from(self.inbox_said.is_some())
    }

    /// Requests waiting for this client's answer, in every session.
    pub fn pending_yours(&self) -> usize {
        self.inbox().iter().filter(|e| e.yours).count()
    }

    /// Requests waiting in session `key`: this client's to answer, and
    /// others'.
    pub fn pending_in(&self, key: &SessionKey) -> (usize, usize) {
        let Some(summary) = self
            .hosts
            .get(key.host)
            .and_then(|h| h.sessions.get(&key.id))
        else {
            return (0, 0);
        };
        if self.yours_to_answer(key, summary.owner.as_deref()) {
            (summary.pending, 0)
        } else {
            (0, summary.pending)
        }
    }

    /// Opens the inbox, connecting the sessions whose requests it lists
    /// (their previews come with the connection). With nothing waiting it
    /// says so instead.
    pub fn open_inbox(&mut self) -> Vec<DeckEffect> {
        let keys: Vec<SessionKey> = self.inbox().into_iter().map(|e| e.key).collect();
        if keys.is_empty() {
            self.say_in_session("the inbox is empty: no request is waiting");
            return Vec::new();
        }
        self.panel = Some(Panel::Inbox { selected: 0 });
        self.inbox_said = None;
        self.inbox_decided = false;
        let mut effects = Vec::new();
        for key in keys {
            let tab = self.tab_for(key);
            effects.extend(self.open(tab));
        }
        effects
    }

    /// A line in the status bar of the session on screen.
    fn say_in_session(&mut self, text: impl Into<String>) {
        if let Some(tab) = self.tabs.get_mut(self.active) {
            let since = tab.app.now;
            tab.app.status = Some(StatusLine {
                text: text.into(),
                level: Level::Info,
                since,
            });
        }
    }

    /// After each message: an inbox in which the user answered and where
    /// nothing is left for them closes, its last confirmation moving to
    /// the status bar.
    pub(super) fn close_finished_inbox(&mut self) {
        if !matches!(self.panel, Some(Panel::Inbox { .. })) {
            return;
        }
        let entries = self.inbox();
        let nothing_yours = !entries.iter().any(|e| e.yours);
        if entries.is_empty() || (nothing_yours && self.inbox_decided) {
            self.panel = None;
            if let Some(said) = self.inbox_said.take() {
                self.say_in_session(said);
            }
        }
    }

    pub(super) fn inbox_key(
        &mut self,
        key: KeyEvent,
        selected: usize,
        now: Instant,
        wall: SystemTime,
    ) -> Vec<DeckEffect> {
        let entries = self.inbox();
        let selected = selected.min(entries.len().saturating_sub(1));
        let entry = entries.get(selected).cloned();
        let tab = entry.as_ref().map(|e| self.tab_for(e.key.clone()));
        // A text area open in the request's decision has the keys.
        let typing = tab.is_some_and(|t| self.tabs[t].app.decision.editor().is_some());
        // While it types, only chords with Ctrl are the inbox's.
        let action = lookup(&key, Context::Inbox)
            .filter(|_| !typing || key.modifiers.contains(KeyModifiers::CONTROL));
        let last = entries.len().saturating_sub(1);
        match action {
            Some(Action::ClosePanel) => self.panel = None,
            Some(Action::SelectUp) => {
                let selected = selected.saturating_sub(1);
                self.panel = Some(Panel::Inbox { selected });
            }
            Some(Action::SelectDown) => {
                let selected = (selected + 1).min(last);
                self.panel = Some(Panel::Inbox { selected });
            }
            Some(Action::OpenSession) => {
                if let Some(entry) = entry {
                    self.panel = None;
                    let effects = self.switch_to(entry.key);
                    self.tabs[self.active].app.focus_request(&entry.request_id);
                    return effects;
                }
            }
            _ => {
                if let (Some(entry), Some(tab)) = (entry, tab) {
                    return self.answer_in_inbox(&entry, tab, key, now, wall);
                }
            }
        }
        Vec::new()
    }

    /// A key for the highlighted request, answered in place in its own
    /// decision view: a watched session is claimed to answer in it; a
    /// request someone else must answer is only looked at.
    fn answer_in_inbox(
        &mut self,
        entry: &InboxEntry,
        tab: usize,
        key: KeyEvent,
        now: Instant,
        wall: SystemTime,
    ) -> Vec<DeckEffect> {
        if !self.tabs[tab].app.focus_request(&entry.request_id) {
            return Vec::new();
        }
        if self.tabs[tab].app.is_owner() {
            return self.pass_to_tab(tab, Msg::Key(key), now, wall);
        }
        if !entry.yours {
            // Its keys move the view only; answers are the owner's.
            let owner = entry.owner.as_deref().unwrap_or("someone else");
            let said = format!("{owner} owns {}: theirs to answer", entry.key.id);
            self.inbox_said = Some(crate::tui::sanitize::sanitize_plain(&said));
            return Vec::new();
        }
        (self.tabs[tab].app.claim_to_answer(key).into_iter())
            .map(|effect| DeckEffect::Tab { tab, effect })
            .collect()
    }

    /// Notes what the user just decided in the inbox, if `effects` send a
    /// decision (at once, or once the claim it waited for came through).
    pub(super) fn confirm(&mut self, effects: &[DeckEffect]) {
        if !matches!(self.panel, Some(Panel::Inbox { .. })) {
            return;
        }
        for effect in effects {
            let DeckEffect::Tab {
                effect: Effect::Send(ClientMessage::PermissionDecision(d)),
                ..
            } = effect
            else {
                continue;
            };
            let inbox = self.inbox();
            let Some(entry) = inbox.iter().find(|e| e.request_id == d.request_id) else {
                continue;
            };
            let word = match d.decision {
                Decision::Allow => "✓ allowed",
                Decision::Deny => "✗ denied",
            };
            let said = format!("{word} in {}: {}", entry.key.id, entry.what());
            self.inbox_said = Some(crate::tui::sanitize::sanitize_plain(&said));
            self.inbox_decided = true;
        }
    }
}
