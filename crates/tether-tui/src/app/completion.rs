//! Slash-command completion in the input box: while the owner types a
//! command name (one line starting with `/`, no space yet), the agent's
//! commands that match show in a popup above the box. Tab/↑/↓ pick,
//! Enter takes the command into the box, Esc closes the popup (it does
//! not interrupt); it opens again when the text changes.

use super::{App, Focus, new_input};
use crate::protocol::SlashCommand;
use crate::tui::keymap::Action;

#[derive(Debug, Default)]
pub struct Completion {
    /// The highlighted entry, for the text it was chosen on.
    selected: usize,
    selected_for: String,
    /// The text the popup was closed on.
    dismissed: Option<String>,
}

impl App {
    /// The one-line text of the box when it is a command name being typed.
    fn command_typed(&self) -> Option<&str> {
        let [line] = self.input.lines() else {
            return None;
        };
        let name = line.strip_prefix('/')?;
        (!name.contains(char::is_whitespace)).then_some(line.as_str())
    }

    /// The commands the popup offers now, best first (empty: it is
    /// closed): names that start with what was typed, then names that
    /// contain it.
    pub fn completions(&self) -> Vec<&SlashCommand> {
        let open = self.focus == Focus::Input
            && self.is_owner()
            && !self.sending()
            && self.modals.is_empty()
            && self.decision_context().is_none();
        let Some(line) = self.command_typed().filter(|_| open) else {
            return Vec::new();
        };
        if self.completion.dismissed.as_deref() == Some(line) {
            return Vec::new();
        }
        let typed = line[1..].to_lowercase();
        let named = |c: &&SlashCommand| c.name.to_lowercase();
        let commands = &self.agent.commands;
        let mut found: Vec<&SlashCommand> = commands
            .iter()
            .filter(|c| named(c).starts_with(&typed))
            .collect();
        found.extend(commands.iter().filter(|c| {
            let name = named(c);
            !name.starts_with(&typed) && name.contains(&typed)
        }));
        found
    }

    /// The highlighted entry of `count` offered.
    pub fn completion_selected(&self, count: usize) -> usize {
        let same_text = self.command_typed() == Some(self.completion.selected_for.as_str());
        if same_text {
            self.completion.selected.min(count.saturating_sub(1))
        } else {
            0
        }
    }

    pub(super) fn act_completion(&mut self, action: Action) {
        let count = self.completions().len();
        if count == 0 {
            return;
        }
        let at = self.completion_selected(count);
        let line = self.command_typed().unwrap_or_default().to_owned();
        match action {
            Action::CompletionNext => self.select_completion((at + 1) % count, line),
            Action::CompletionPrev => self.select_completion((at + count - 1) % count, line),
            Action::CompletionAccept => {
                let name = self.completions()[at].name.clone();
                self.input = new_input("Type a message; Enter sends");
                self.input.insert_str(format!("/{name} "));
                self.completion = Completion::default();
            }
            Action::CompletionClose => self.completion.dismissed = Some(line),
            _ => {}
        }
    }

    fn select_completion(&mut self, at: usize, line: String) {
        self.completion.selected = at;
        self.completion.selected_for = line;
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyCode;

    use crate::protocol::{EventKind, Role, SlashCommand};
    use crate::tui::app::tests::{Rig, record, sent};

    fn commands() -> EventKind {
        let command = |name: &str| SlashCommand {
            name: name.into(),
            description: format!("{name} things"),
            input_hint: None,
        };
        EventKind::Commands {
            commands: vec![command("web"), command("review"), command("preview")],
        }
    }

    fn names(rig: &Rig) -> Vec<String> {
        rig.app
            .completions()
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    #[test]
    fn typing_a_slash_offers_the_agents_commands_and_enter_takes_one() {
        let mut rig = Rig::new(Role::Owner, false);
        rig.event(record(1, commands()));
        rig.typed("/");
        assert_eq!(names(&rig), ["web", "review", "preview"]);
        rig.typed("rev");
        assert_eq!(names(&rig), ["review", "preview"], "prefix first");
        rig.key(KeyCode::Tab);
        assert_eq!(rig.app.completion_selected(2), 1);
        rig.key(KeyCode::Up);
        rig.key(KeyCode::Up);
        assert_eq!(rig.app.completion_selected(2), 1, "wraps");
        let effects = rig.key(KeyCode::Enter);
        assert!(sent(&effects).is_empty(), "Enter takes, does not send");
        assert_eq!(rig.app.input.lines(), ["/preview "]);
        assert!(rig.app.completions().is_empty(), "a space closes it");
        let effects = rig.key(KeyCode::Enter);
        assert_eq!(sent(&effects).len(), 1, "then Enter sends");
    }

    #[test]
    fn esc_closes_the_list_without_interrupting() {
        let mut rig = Rig::new(Role::Owner, false);
        rig.event(record(1, commands()));
        rig.event(record(
            2,
            EventKind::status(crate::protocol::AgentState::Running),
        ));
        rig.typed("/we");
        assert_eq!(names(&rig), ["web"]);
        let effects = rig.key(KeyCode::Esc);
        assert!(sent(&effects).is_empty(), "no interrupt: {effects:?}");
        assert!(rig.app.completions().is_empty());
        rig.typed("b");
        assert_eq!(names(&rig), ["web"], "open again as the text changes");
        let mut follower = Rig::new(Role::Follower, false);
        follower.event(record(1, commands()));
        follower.typed("/");
        assert!(follower.app.completions().is_empty());
    }
}
