//! The bindings of popups and overlays: the slash-command list, the help,
//! a y/n question, the rules in force. Part of the one table in
//! `bindings` (`KEYMAP` lists them all).

use crossterm::event::KeyCode;

use super::super::Context::{
    Completion, DenyReason, Global, HelpOverlay, HistorySearch, Question, RulesOverlay,
    SearchPrompt,
};
use super::super::{Action, Binding, words};
use super::{CTRL, NONE, SHIFT};

// The slash-command popup over the input box.
pub const COMPLETION_NEXT: Binding = Binding::new(
    Completion,
    "Tab/↑/↓",
    Action::CompletionNext,
    &[(KeyCode::Tab, NONE), (KeyCode::Down, NONE)],
)
.help("pick a command")
.hint(words::PICK);
/// Described with `COMPLETION_NEXT`.
pub const COMPLETION_PREV: Binding = Binding::new(
    Completion,
    "↑",
    Action::CompletionPrev,
    &[
        (KeyCode::Up, NONE),
        (KeyCode::BackTab, NONE),
        (KeyCode::BackTab, SHIFT),
    ],
);
pub const COMPLETION_ACCEPT: Binding = Binding::new(
    Completion,
    "Enter",
    Action::CompletionAccept,
    &[(KeyCode::Enter, NONE)],
)
.help("take it into the box")
.hint(words::ACCEPT);
pub const COMPLETION_CLOSE: Binding = Binding::new(
    Completion,
    "Esc",
    Action::CompletionClose,
    &[(KeyCode::Esc, NONE)],
)
.help("close the list (no interrupt)")
.hint(words::CLOSE);

// The help overlay.
pub const CLOSE_HELP: Binding = Binding::new(
    HelpOverlay,
    "Esc, ? or F1",
    Action::CloseHelp,
    &[
        (KeyCode::Esc, NONE),
        (KeyCode::Char('q'), NONE),
        (KeyCode::Char('?'), NONE),
        (KeyCode::Char('?'), SHIFT),
        (KeyCode::F(1), NONE),
        (KeyCode::Enter, NONE),
    ],
)
.help("closes this help.")
.short("Esc")
.hint(words::CLOSE);

// A y/n question.
pub const YES: Binding = Binding::new(
    Question,
    "y",
    Action::Confirm,
    &[(KeyCode::Char('y'), NONE), (KeyCode::Enter, NONE)],
)
.help("yes")
.hint(words::YES);
pub const NO: Binding = Binding::new(
    Question,
    "n",
    Action::Decline,
    &[(KeyCode::Char('n'), NONE), (KeyCode::Esc, NONE)],
)
.help("no")
.hint(words::NO);

/// The help scrolls: the overlay's own keys, nothing else applies there.
pub const HELP_LINE_UP: Binding =
    Binding::new(HelpOverlay, "↑/↓", Action::LineUp, &[(KeyCode::Up, NONE)])
        .help("scroll")
        .hint(words::SCROLL);
/// Described with `HELP_LINE_UP`.
pub const HELP_LINE_DOWN: Binding =
    Binding::new(HelpOverlay, "↓", Action::LineDown, &[(KeyCode::Down, NONE)]);
pub const HELP_PAGE_UP: Binding = Binding::new(
    HelpOverlay,
    "PgUp/PgDn",
    Action::PageUp,
    &[(KeyCode::PageUp, NONE)],
)
.help("scroll a page")
.hint(words::PAGE);
/// Described with `HELP_PAGE_UP`.
pub const HELP_PAGE_DOWN: Binding = Binding::new(
    HelpOverlay,
    "PgDn",
    Action::PageDown,
    &[(KeyCode::PageDown, NONE)],
);

// The rules in force.
pub const OPEN_RULES: Binding =
    Binding::new(Global, "F4", Action::OpenRules, &[(KeyCode::F(4), NONE)])
        .help("rules in force (the owner removes them)")
        .hint(words::RULES);
pub const RULE_UP: Binding = Binding::new(
    RulesOverlay,
    "↑/↓",
    Action::SelectUp,
    &[(KeyCode::Up, NONE)],
)
.help("select a rule")
.hint(words::SELECT);
/// Described with `RULE_UP`.
pub const RULE_DOWN: Binding = Binding::new(
    RulesOverlay,
    "↓",
    Action::SelectDown,
    &[(KeyCode::Down, NONE)],
);
pub const REMOVE_RULE: Binding = Binding::new(
    RulesOverlay,
    "d/Del",
    Action::RemoveRule,
    &[(KeyCode::Char('d'), NONE), (KeyCode::Delete, NONE)],
)
.help("remove the selected rule (owner, y/n)")
.hint(words::REMOVE);
pub const CLOSE_RULES: Binding = Binding::new(
    RulesOverlay,
    "Esc/F4",
    Action::CloseRules,
    &[
        (KeyCode::Esc, NONE),
        (KeyCode::F(4), NONE),
        (KeyCode::Char('q'), NONE),
    ],
)
.help("close the rules")
.hint(words::CLOSE);

// The prompt for a denial's reason.
pub const REASON_SEND: Binding =
    Binding::new(DenyReason, "Enter", Action::Send, &[(KeyCode::Enter, NONE)])
        .help("deny with this reason")
        .hint(words::DENY);
pub const REASON_SKIP: Binding =
    Binding::new(DenyReason, "Esc", Action::Decline, &[(KeyCode::Esc, NONE)])
        .help("deny without a reason")
        .hint(words::NO_REASON);

// The transcript search prompt.
pub const SEARCH_RUN: Binding = Binding::new(
    SearchPrompt,
    "Enter",
    Action::Send,
    &[(KeyCode::Enter, NONE)],
)
.help("search for what is typed")
.hint(words::SEARCH);
pub const SEARCH_CANCEL: Binding = Binding::new(
    SearchPrompt,
    "Esc",
    Action::Decline,
    &[(KeyCode::Esc, NONE)],
)
.help("cancel, clearing the search")
.hint(words::CANCEL);

// Searching the messages sent (Ctrl+R in the input box).
pub const HISTORY_OLDER: Binding = Binding::new(
    HistorySearch,
    "Ctrl+R",
    Action::HistorySearch,
    &[(KeyCode::Char('r'), CTRL)],
)
.help("the match before")
.hint(words::OLDER);
pub const HISTORY_TAKE: Binding = Binding::new(
    HistorySearch,
    "Enter",
    Action::Send,
    &[(KeyCode::Enter, NONE)],
)
.help("take it into the box (to edit or send)")
.hint(words::TAKE);
pub const HISTORY_CANCEL: Binding = Binding::new(
    HistorySearch,
    "Esc",
    Action::Decline,
    &[(KeyCode::Esc, NONE)],
)
.help("leave the box as it was")
.hint(words::CANCEL);
