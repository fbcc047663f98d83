//! Rules in force: made by the owner's `allow_always` answers that the host
//! keeps, rebuilt from `rule_added`/`rule_removed` events (so a journal
//! restores them), handed to the agent whenever they change.

use serde::{Deserialize, Serialize};

use crate::protocol::{EventKind, Rule};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionRules {
    rules: Vec<Rule>,
    /// The number of the next rule id (`rule-N`); ids are never reused.
    next: u64,
}

impl SessionRules {
    /// Notes what an event does to the rules.
    pub fn apply(&mut self, event: &EventKind) {
        match event {
            EventKind::RuleAdded { rule, .. } => {
                if let Some(n) = rule
                    .id
                    .strip_prefix("rule-")
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    self.next = self.next.max(n + 1);
                }
                self.rules.retain(|r| r.id != rule.id);
                self.rules.push(rule.clone());
            }
            EventKind::RuleRemoved { rule_id, .. } => self.rules.retain(|r| r.id != *rule_id),
            _ => {}
        }
    }

    pub fn all(&self) -> &[Rule] {
        &self.rules
    }

    pub fn contains(&self, id: &str) -> bool {
        self.rules.iter().any(|r| r.id == id)
    }

    /// The id the next rule gets.
    pub fn next_id(&self) -> String {
        format!("rule-{}", self.next.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RuleSpec;

    fn added(id: &str) -> EventKind {
        EventKind::RuleAdded {
            rule: Rule {
                id: id.into(),
                label: "always allow `ls` in this session".into(),
                spec: RuleSpec::ExactCommand {
                    command: "ls".into(),
                },
                made_by: "alice".into(),
            },
            by: "alice".into(),
        }
    }

    #[test]
    fn ids_are_never_reused_and_removal_forgets() {
        let mut rules = SessionRules::default();
        assert_eq!(rules.next_id(), "rule-1");
        rules.apply(&added("rule-1"));
        assert_eq!(rules.next_id(), "rule-2");
        rules.apply(&EventKind::RuleRemoved {
            rule_id: "rule-1".into(),
            by: "alice".into(),
        });
        assert!(rules.all().is_empty() && !rules.contains("rule-1"));
        assert_eq!(rules.next_id(), "rule-2");
    }
}
