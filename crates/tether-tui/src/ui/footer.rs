//! The bottom line: a status message, a question waiting for y/n, or the
//! key hints of the focused pane and how to watch this session. When it
//! is too narrow the watch command shortens first, then hints drop from
//! the right (the watch command finally gives way to a pointer to the
//! help, which shows it); nothing is cut in the middle of a word.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fit::width;
use crate::tui::app::{App, Level, Modal, Question};
use crate::tui::keymap::{self, Action, Context, words};
use crate::tui::theme;

/// A status message, on the bottom border of the pane above the footer
/// (the input box or the decision view): it never hides the key hints,
/// and goes after a few seconds.
pub fn draw_status(app: &App, frame: &mut Frame, bottom: Rect) {
    let Some(crate::tui::app::StatusLine { text, level, .. }) = &app.status else {
        return;
    };
    let style = match level {
        Level::Error => theme::ERROR,
        Level::Info => theme::INFO,
    };
    if bottom.height == 0 || bottom.width < 4 {
        return;
    }
    let room = usize::from(bottom.width - 2);
    let text = super::fit::truncate(&format!(" {text} "), room);
    let row = Rect {
        x: bottom.x + 1,
        y: bottom.bottom() - 1,
        width: super::fit::width(&text) as u16,
        height: 1,
    };
    frame.render_widget(Paragraph::new(Line::styled(text, style)), row);
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    // A question waiting for its answer shows over any status message.
    if let Some(asked) = app.question() {
        let text = match asked {
            Question::Transfer(ask) => format!("transfer ownership to {}?", ask.identity),
            Question::RemoveRule { rule } => {
                let name = crate::tui::cells::sanitize_name(rule);
                format!("remove {name}? it stops allowing without asking")
            }
        };
        frame.render_widget(Paragraph::new(question(&text)), area);
        return;
    }
    frame.render_widget(Paragraph::new(hints(app, area.width as usize)), area);
}

fn question(text: &str) -> Line<'static> {
    let mut spans = vec![Span::styled(format!(" {text}  "), theme::WARN)];
    for binding in keymap::hints(Context::Question) {
        spans.push(Span::styled(binding.hint_label(), theme::BOLD));
        let word = binding.hint.unwrap_or_default();
        spans.push(Span::styled(format!(" {word}  "), theme::DIM));
    }
    Line::from(spans)
}

fn hints(app: &App, room: usize) -> Line<'static> {
    let mut items = match app.modals.last() {
        Some(open) => modal_hints(open),
        None => keymap::hints(app.focus_context())
            .filter_map(|b| Some((b.hint_label(), hint_word(app, b)?)))
            .collect(),
    };
    // Only the owner removes rules.
    items.retain(|(_, word)| app.is_owner() || *word != words::REMOVE);
    let watch = app.hints.watch_command.as_deref().and_then(|command| {
        let forms = watch_forms(command);
        let (pointer, commands) = forms.split_last()?;
        choose_watch(&mut items, commands, pointer, room)
    });
    // The last hint's trailing gap may fall off the edge.
    while hints_width(&items).saturating_sub(2) > room && items.pop().is_some() {}
    let mut spans = vec![Span::raw(" ")];
    for (label, word) in items {
        spans.push(Span::styled(label, theme::BOLD));
        spans.push(Span::styled(format!(" {word}  "), theme::DIM));
    }
    if let Some(watch) = watch {
        spans.push(Span::styled(watch, theme::INFO));
    }
    Line::from(spans)
}

/// While a modal is open only its keys work: its hints are its own.
fn modal_hints(open: &Modal) -> Vec<(&'static str, &'static str)> {
    keymap::hints(open.context())
        .filter_map(|b| Some((b.hint_label(), b.hint?)))
        .collect()
}

/// The word a binding's hint shows now, or None when the key would do
/// nothing for this role, focus and moment (only the owner steers; there
/// is nothing to answer, interrupt or step through).
fn hint_word(app: &App, binding: &keymap::Binding) -> Option<&'static str> {
    let owner = app.is_owner();
    let searching = app.transcript.search.is_some();
    let word = binding.hint?;
    match binding.action {
        Action::Send | Action::NewLine | Action::TransferOwnership => owner.then_some(word),
        Action::CycleMode => (owner && !app.agent.modes.is_empty()).then_some(word),
        Action::Allow | Action::Deny => (owner && !app.pending.is_empty()).then_some(word),
        Action::OpenDecision => (!app.pending.is_empty()).then_some(word),
        // The decision view's answers (followers see it read-only).
        Action::ChooseNumbered | Action::ChooseHighlighted => owner.then_some(word),
        Action::AllowAlways => {
            use crate::tui::app::decision::{choices, first_always};
            let offered = app
                .decision_request()
                .is_some_and(|(_, r)| first_always(&choices(r)).is_some());
            (owner && offered).then_some(word)
        }
        Action::EditAndAllow => {
            let editable = app.decision_request().is_some_and(|(_, r)| r.editable);
            (owner && editable).then_some(word)
        }
        Action::Interrupt if searching => Some(words::CLEAR_SEARCH),
        Action::Interrupt => (owner && app.agent_busy()).then_some(word),
        // Others quit with the first press, as Ctrl+Q (shown) does.
        Action::CancelOrQuit if !owner => None,
        Action::CancelOrQuit if !app.input.is_empty() && !app.sending() => Some(words::CLEAR),
        Action::CancelOrQuit if app.agent_busy() => Some(words::INTERRUPT),
        Action::CancelOrQuit => Some(words::TWICE_QUITS),
        Action::NextMatch => searching.then_some(word),
        Action::CopyBlock => app.transcript.selected().is_some().then_some(word),
        // Offered once there is a rule to see (the help always lists it).
        Action::OpenRules => (!app.rules().is_empty()).then_some(word),
        _ => Some(word),
    }
}

/// The leading space and the hints, each with its trailing gap.
fn hints_width(items: &[(&str, &str)]) -> usize {
    1 + items
        .iter()
        .map(|(label, word)| width(label) + 1 + width(word) + 2)
        .sum::<usize>()
}

/// Hints kept before the watch command gives way to a pointer to help.
const MIN_HINTS: usize = 3;

/// Which watch text to show with which hints: the command whole, then
/// without its note, then (dropping hints from the right, down to
/// `MIN_HINTS`) the short command, and last a pointer to the help.
fn choose_watch(
    items: &mut Vec<(&'static str, &'static str)>,
    commands: &[String],
    pointer: &str,
    room: usize,
) -> Option<String> {
    let fits = |items: &[(&str, &str)], watch: &str| hints_width(items) + width(watch) <= room;
    if let Some(form) = commands.iter().find(|w| fits(items, w)) {
        return Some(form.clone());
    }
    let shortest = commands.last()?;
    let keep = items.len().min(MIN_HINTS);
    let mut fewer = items.clone();
    while !fits(&fewer, shortest) && fewer.len() > keep {
        fewer.pop();
    }
    if fits(&fewer, shortest) {
        *items = fewer;
        return Some(shortest.clone());
    }
    while !fits(items, pointer) && items.pop().is_some() {}
    fits(items, pointer).then(|| pointer.to_owned())
}

/// The watch command, longest form first: whole, without its
/// parenthesised note, and last a pointer to the help that shows it.
fn watch_forms(command: &str) -> Vec<String> {
    let mut forms = vec![format!("watch: {command}")];
    if let Some(at) = command.find(" (") {
        forms.push(format!("watch: {}", &command[..at]));
    }
    let help = keymap::binding(Context::Global, Action::OpenHelp)
        .map_or(keymap::bindings::OPEN_HELP.label, |b| b.label);
    forms.push(format!("watch: see {help}"));
    forms
}
