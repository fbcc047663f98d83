//! The rules in force (made by `allow_always` answers the host keeps):
//! listed in an overlay, where the owner removes one after a y/n
//! question; everyone else sees the list read-only.

use super::{App, Effect, Level, Modal, Question};
use crate::protocol::{ClientMessage, RemoveRule, Rule};
use crate::tui::keymap::Action;

/// The rules overlay's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesView {
    /// The highlighted rule (clamped to the list).
    selected: usize,
}

/// What a key on the rules overlay asks of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesOutcome {
    Stay,
    /// Only the owner removes rules.
    ReadOnly,
    /// Ask "remove this rule?" (its id).
    AskToRemove(String),
    Close,
}

impl RulesView {
    /// The highlighted one of `count` rules.
    pub fn selected(&self, count: usize) -> usize {
        self.selected.min(count.saturating_sub(1))
    }

    /// A key, over the ids of the `rules` in force, for the owner or not.
    fn act(&mut self, action: Option<Action>, rules: &[String], owner: bool) -> RulesOutcome {
        let count = rules.len();
        match action {
            Some(Action::SelectUp) => self.selected = self.selected.min(count).saturating_sub(1),
            Some(Action::SelectDown) => {
                self.selected = (self.selected + 1).min(count.saturating_sub(1))
            }
            Some(Action::RemoveRule) if !owner => return RulesOutcome::ReadOnly,
            Some(Action::RemoveRule) => {
                if let Some(rule) = rules.get(self.selected(count)) {
                    return RulesOutcome::AskToRemove(rule.clone());
                }
            }
            Some(Action::CloseRules) => return RulesOutcome::Close,
            _ => {}
        }
        RulesOutcome::Stay
    }
}

impl App {
    /// The rules in force, oldest first.
    pub fn rules(&self) -> &[Rule] {
        self.session.as_ref().map_or(&[], |s| &s.rules)
    }

    /// Keeps the list current: `ready` gave it, these events change it
    /// (a replay of what `ready` already counted changes nothing).
    pub(super) fn rule_added(&mut self, rule: &Rule) {
        if let Some(session) = self.session.as_mut() {
            match session.rules.iter_mut().find(|r| r.id == rule.id) {
                Some(known) => *known = rule.clone(),
                None => session.rules.push(rule.clone()),
            }
        }
    }

    pub(super) fn rule_removed(&mut self, rule_id: &str) {
        if let Some(session) = self.session.as_mut() {
            session.rules.retain(|r| r.id != rule_id);
        }
    }

    pub(super) fn open_rules(&mut self) {
        self.modals.push(Modal::Rules(RulesView::default()));
    }

    /// The open rules overlay (under its question, if one is asked).
    pub fn rules_view(&self) -> Option<&RulesView> {
        self.modals.iter().rev().find_map(|m| match m {
            Modal::Rules(view) => Some(view),
            _ => None,
        })
    }

    /// The rule whose removal waits for y/n (a question over the list).
    pub fn rule_to_remove(&self) -> Option<&str> {
        match self.question() {
            Some(Question::RemoveRule { rule }) => Some(rule),
            _ => None,
        }
    }

    /// Keys while the rules overlay is the innermost modal.
    pub(super) fn on_rules_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        let rules: Vec<String> = self.rules().iter().map(|r| r.id.clone()).collect();
        let owner = self.is_owner();
        let Some(Modal::Rules(view)) = self.modals.last_mut() else {
            return Vec::new();
        };
        match view.act(action, &rules, owner) {
            RulesOutcome::Stay => {}
            RulesOutcome::ReadOnly => {
                self.say("read-only: only the owner can remove rules", Level::Info)
            }
            RulesOutcome::AskToRemove(rule) => {
                self.modals
                    .push(Modal::Question(Question::RemoveRule { rule }));
            }
            RulesOutcome::Close => {
                self.modals.pop();
            }
        }
        Vec::new()
    }

    /// The answer to "remove this rule?".
    pub(super) fn answer_remove_rule(&mut self, rule: String, yes: bool) -> Vec<Effect> {
        if !yes {
            return Vec::new();
        }
        self.send_tracked(
            |id| ClientMessage::RemoveRule(RemoveRule { id, rule }),
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};

    use super::*;
    use crate::protocol::{EventKind, Role, RuleSpec};
    use crate::tui::app::tests::{Rig, record};

    fn rule(n: u32, command: &str) -> Rule {
        Rule {
            id: format!("rule-{n}"),
            label: format!("always allow `{command}` in this session"),
            spec: RuleSpec::ExactCommand {
                command: command.into(),
            },
            made_by: "alice".into(),
        }
    }

    fn with_rules(role: Role) -> Rig {
        let mut rig = Rig::new(role, false);
        for (seq, (n, command)) in [(1, "ls"), (2, "make")].into_iter().enumerate() {
            let event = EventKind::RuleAdded {
                rule: rule(n, command),
                by: "alice".into(),
            };
            rig.event(record(seq as u64 + 1, event));
        }
        rig
    }

    fn press(rig: &mut Rig, code: KeyCode) -> Vec<Effect> {
        rig.app
            .on_key(crossterm::event::KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn the_owner_removes_the_highlighted_rule_after_saying_yes() {
        let mut rig = with_rules(Role::Owner);
        // Replayed history does not count a rule twice.
        rig.event(record(
            3,
            EventKind::RuleAdded {
                rule: rule(1, "ls"),
                by: "alice".into(),
            },
        ));
        assert_eq!(rig.app.rules().len(), 2);
        press(&mut rig, KeyCode::F(4));
        press(&mut rig, KeyCode::Down);
        assert!(press(&mut rig, KeyCode::Char('d')).is_empty());
        assert_eq!(rig.app.rule_to_remove(), Some("rule-2"));
        // No: nothing sent, still open.
        assert!(press(&mut rig, KeyCode::Char('n')).is_empty());
        assert_eq!(rig.app.rule_to_remove(), None);
        assert!(rig.app.rules_view().is_some(), "still open");
        press(&mut rig, KeyCode::Delete);
        let effects = press(&mut rig, KeyCode::Char('y'));
        assert!(
            matches!(&effects[..], [Effect::Send(ClientMessage::RemoveRule(RemoveRule { rule, .. }))] if rule == "rule-2"),
            "{effects:?}"
        );
        rig.event(record(
            4,
            EventKind::RuleRemoved {
                rule_id: "rule-2".into(),
                by: "alice".into(),
            },
        ));
        assert_eq!(rig.app.rules(), &[rule(1, "ls")]);
        press(&mut rig, KeyCode::Esc);
        assert!(rig.app.modals.is_empty());
    }

    #[test]
    fn a_follower_sees_the_rules_but_removes_none() {
        let mut rig = with_rules(Role::Follower);
        press(&mut rig, KeyCode::F(4));
        assert!(press(&mut rig, KeyCode::Char('d')).is_empty());
        assert_eq!(rig.app.rule_to_remove(), None);
        assert!(rig.app.rules_view().is_some(), "still open");
        assert!(press(&mut rig, KeyCode::Char('y')).is_empty());
        assert_eq!(rig.app.rules().len(), 2);
    }
}
