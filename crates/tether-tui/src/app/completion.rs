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

impl Completion {
    /// The commands offered while `line` (a command name being typed) is
    /// in the box, best first: names that start with what was typed, then
    /// names that contain it; none once the popup was closed on it.
    fn offered<'a>(&self, line: &str, commands: &'a [SlashCommand]) -> Vec<&'a SlashCommand> {
        if self.dismissed.as_deref() == Some(line) {
            return Vec::new();
        }
        let typed = line[1..].to_lowercase();
        let named = |c: &&SlashCommand| c.name.to_lowercase();
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

    /// The highlighted entry of `count` offered for `line`.
    fn selected(&self, line: Option<&str>, count: usize) -> usize {
        if line == Some(self.selected_for.as_str()) {
            self.selected.min(count.saturating_sub(1))
        } else {
            0
        }
    }

    /// A key on the popup over `line`, with `offered` shown: the name of
    /// the command taken, if one is.
    fn act(&mut self, action: Action, line: &str, offered: &[&SlashCommand]) -> Option<String> {
        let count = offered.len();
        let at = self.selected(Some(line), count);
        let mut select = |at| {
            self.selected = at;
            self.selected_for = line.to_owned();
        };
        match action {
            Action::CompletionNext => select((at + 1) % count),
            Action::CompletionPrev => select((at + count - 1) % count),
            Action::CompletionAccept => {
                *self = Completion::default();
                return Some(offered[at].name.clone());
            }
            Action::CompletionClose => self.dismissed = Some(line.to_owned()),
            _ => {}
        }
        None
    }
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

    /// The commands the popup offers now (empty: it is closed): only to
    /// the owner typing in the box with nothing over it.
    pub fn completions(&self) -> Vec<&SlashCommand> {
        let open = self.focus == Focus::Input
            && self.can_edit_input()
            && self.modals.is_empty()
            && self.decision_context().is_none();
        match self.command_typed().filter(|_| open) {
            Some(line) => self.completion.offered(line, &self.agent.commands),
            None => Vec::new(),
        }
    }

    /// The highlighted entry of `count` offered.
    pub fn completion_selected(&self, count: usize) -> usize {
        self.completion.selected(self.command_typed(), count)
    }

    pub(super) fn act_completion(&mut self, action: Action) {
        let offered: Vec<SlashCommand> = self.completions().into_iter().cloned().collect();
        if offered.is_empty() {
            return;
        }
        let line = self.command_typed().unwrap_or_default().to_owned();
        let offered: Vec<&SlashCommand> = offered.iter().collect();
        if let Some(name) = self.completion.act(action, &line, &offered) {
            self.input = new_input("Type a message; Enter sends");
            self.input.insert_str(format!("/{name} "));
        }
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
