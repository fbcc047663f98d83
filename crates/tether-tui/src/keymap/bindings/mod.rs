//! Every key binding, by name. The table's order is the order of the hint
//! line (a context's own bindings, then the global ones) and of the help.

use crossterm::event::{KeyCode, KeyModifiers};

use super::Context::{
    Decision, DecisionText, Global, Input, Participants, Permissions, Transcript,
};
use super::{Action, Binding, Chord, Context, words};

mod deck;
mod overlays;
pub use deck::*;
pub use overlays::*;

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

const QUESTION_MARK: &[Chord] = &[(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT)];

impl Binding {
    const fn new(
        context: Context,
        label: &'static str,
        action: Action,
        keys: &'static [Chord],
    ) -> Self {
        Binding {
            name: "",
            context,
            keys,
            label,
            short: None,
            action,
            help: None,
            hint: None,
        }
    }

    /// How the key is written on the hint line, where `label` is too long.
    const fn short(self, label: &'static str) -> Self {
        Binding {
            short: Some(label),
            ..self
        }
    }

    const fn help(self, text: &'static str) -> Self {
        Binding {
            help: Some(text),
            ..self
        }
    }

    const fn hint(self, word: &'static str) -> Self {
        Binding {
            hint: Some(word),
            ..self
        }
    }
}

// Input box.
pub const SEND: Binding = Binding::new(Input, "Enter", Action::Send, &[(KeyCode::Enter, NONE)])
    .help("send the message")
    .hint(words::SEND);
pub const NEW_LINE: Binding = Binding::new(
    Input,
    "Alt+Enter",
    Action::NewLine,
    &[(KeyCode::Enter, ALT), (KeyCode::Enter, SHIFT)],
)
.help("insert a newline")
.hint(words::NEW_LINE);
pub const CYCLE_MODE: Binding = Binding::new(
    Input,
    "Shift+Tab",
    Action::CycleMode,
    &[(KeyCode::BackTab, NONE), (KeyCode::BackTab, SHIFT)],
)
.help("the agent's next mode (owner)")
.hint(words::MODE);

// Permissions pane.
pub const ALLOW: Binding = Binding::new(
    Permissions,
    "y",
    Action::Allow,
    &[(KeyCode::Char('y'), NONE)],
)
.help("allow the selected request")
.hint(words::ALLOW);
pub const DENY: Binding = Binding::new(
    Permissions,
    "n",
    Action::Deny,
    &[(KeyCode::Char('n'), NONE)],
)
.help("deny (type a reason, Enter; Esc: none)")
.hint(words::DENY);
pub const REQUEST_UP: Binding =
    Binding::new(Permissions, "↑/↓", Action::SelectUp, &[(KeyCode::Up, NONE)])
        .help("select a request");
/// Described with `REQUEST_UP`.
pub const REQUEST_DOWN: Binding = Binding::new(
    Permissions,
    "↓",
    Action::SelectDown,
    &[(KeyCode::Down, NONE)],
);
pub const OPEN_DECISION: Binding = Binding::new(
    Permissions,
    "Enter",
    Action::OpenDecision,
    &[(KeyCode::Enter, NONE)],
)
.help("the request in full, to decide")
.hint(words::OPEN);
/// The global help key, repeated where `?` would otherwise do nothing.
pub const PERMISSIONS_HELP: Binding =
    Binding::new(Permissions, "?", Action::OpenHelp, QUESTION_MARK);

// Participants pane.
pub const PARTICIPANT_UP: Binding = Binding::new(
    Participants,
    "↑/↓",
    Action::SelectUp,
    &[(KeyCode::Up, NONE)],
)
.help("select a participant");
/// Described with `PARTICIPANT_UP`.
pub const PARTICIPANT_DOWN: Binding = Binding::new(
    Participants,
    "↓",
    Action::SelectDown,
    &[(KeyCode::Down, NONE)],
);
pub const TRANSFER: Binding = Binding::new(
    Participants,
    "t",
    Action::TransferOwnership,
    &[(KeyCode::Char('t'), NONE)],
)
.help("transfer ownership to the selected one")
.hint(words::TRANSFER);
pub const PARTICIPANTS_HELP: Binding =
    Binding::new(Participants, "?", Action::OpenHelp, QUESTION_MARK);

// Transcript pane.
pub const LINE_UP: Binding = Binding::new(
    Transcript,
    "Shift+↑/↓",
    Action::LineUp,
    &[(KeyCode::Up, SHIFT)],
)
.help("scroll one line");
/// Described with `LINE_UP`.
pub const LINE_DOWN: Binding = Binding::new(
    Transcript,
    "Shift+↓",
    Action::LineDown,
    &[(KeyCode::Down, SHIFT)],
);
pub const SEARCH: Binding = Binding::new(
    Transcript,
    "/",
    Action::Search,
    &[(KeyCode::Char('/'), NONE)],
)
.help("search the transcript");
/// Search from wherever the user is: in the input box `/` opens the slash
/// commands, so search needs a key of its own there (Ctrl+F, as in the
/// tools users know; Ctrl+R would be message history).
pub const SEARCH_ANYWHERE: Binding = Binding::new(
    Global,
    "Ctrl+F",
    Action::Search,
    &[(KeyCode::Char('f'), CTRL)],
)
.help("search the transcript, from any pane")
.hint(words::SEARCH);
pub const NEXT_MATCH: Binding = Binding::new(
    Transcript,
    "n/N",
    Action::NextMatch,
    &[(KeyCode::Char('n'), NONE)],
)
.help("next / previous match")
.hint(words::MATCH);
/// Described with `NEXT_MATCH`.
pub const PREV_MATCH: Binding = Binding::new(
    Transcript,
    "N",
    Action::PrevMatch,
    &[(KeyCode::Char('N'), NONE), (KeyCode::Char('N'), SHIFT)],
);
pub const TOGGLE_THINKING: Binding = Binding::new(
    Transcript,
    "t",
    Action::ToggleThinking,
    &[(KeyCode::Char('t'), NONE)],
)
.help("expand or collapse thinking")
.hint(words::THINKING);
pub const TRANSCRIPT_HELP: Binding = Binding::new(Transcript, "?", Action::OpenHelp, QUESTION_MARK);
pub const START: Binding = Binding::new(
    Transcript,
    "Home/End",
    Action::ScrollToStart,
    &[(KeyCode::Home, NONE)],
)
.help("transcript start / end (follow)");
/// Described with `START`.
pub const END: Binding = Binding::new(
    Transcript,
    "End",
    Action::ScrollToEnd,
    &[(KeyCode::End, NONE)],
);

// Everywhere.
pub const FOCUS_NEXT: Binding =
    Binding::new(Global, "Tab", Action::FocusNext, &[(KeyCode::Tab, NONE)])
        .help("next pane")
        .hint(words::PANE);
pub const FOCUS_PREV: Binding = Binding::new(
    Global,
    "Shift+Tab",
    Action::FocusPrev,
    &[(KeyCode::BackTab, NONE), (KeyCode::BackTab, SHIFT)],
)
.help("previous pane");
pub const PAGE_UP: Binding = Binding::new(
    Global,
    "PgUp/PgDn",
    Action::PageUp,
    &[(KeyCode::PageUp, NONE)],
)
.help("scroll the transcript a page")
.hint(words::SCROLL);
/// Described with `PAGE_UP`.
pub const PAGE_DOWN: Binding = Binding::new(
    Global,
    "PgDn",
    Action::PageDown,
    &[(KeyCode::PageDown, NONE)],
);
pub const GLOBAL_START: Binding = Binding::new(
    Global,
    "Ctrl+Home",
    Action::ScrollToStart,
    &[(KeyCode::Home, CTRL)],
)
.help("transcript start");
pub const GLOBAL_END: Binding = Binding::new(
    Global,
    "Ctrl+End",
    Action::ScrollToEnd,
    &[(KeyCode::End, CTRL)],
)
.help("transcript end, follow new output");
pub const INTERRUPT: Binding =
    Binding::new(Global, "Esc", Action::Interrupt, &[(KeyCode::Esc, NONE)])
        .help("close search/help, else interrupt (owner)")
        .hint(words::INTERRUPT);
pub const CANCEL_OR_QUIT: Binding = Binding::new(
    Global,
    "Ctrl+C",
    Action::CancelOrQuit,
    &[(KeyCode::Char('c'), CTRL)],
)
.help("clear input; or interrupt; twice: quit")
.hint(words::CANCEL_OR_QUIT);
pub const CLAIM: Binding = Binding::new(
    Global,
    "F2",
    Action::ClaimOwnership,
    &[(KeyCode::F(2), NONE)],
)
.help("claim ownership when nobody owns");
pub const RELEASE: Binding = Binding::new(
    Global,
    "F3",
    Action::ReleaseOwnership,
    &[(KeyCode::F(3), NONE)],
)
.help("release ownership");
pub const TOGGLE_MOUSE: Binding =
    Binding::new(Global, "F6", Action::ToggleMouse, &[(KeyCode::F(6), NONE)])
        .help("mouse: wheel scrolls / select text");
pub const OPEN_HELP: Binding =
    Binding::new(Global, "F1/?", Action::OpenHelp, &[(KeyCode::F(1), NONE)])
        .help("help")
        .hint(words::HELP);
pub const QUIT: Binding = Binding::new(
    Global,
    "Ctrl+Q",
    Action::Quit,
    &[(KeyCode::Char('q'), CTRL)],
)
.help("quit")
.hint(words::QUIT);

// The decision view on a permission request.
pub const CHOOSE_NUMBERED: Binding = Binding::new(
    Decision,
    "1-9",
    Action::ChooseNumbered,
    &[
        (KeyCode::Char('1'), NONE),
        (KeyCode::Char('2'), NONE),
        (KeyCode::Char('3'), NONE),
        (KeyCode::Char('4'), NONE),
        (KeyCode::Char('5'), NONE),
        (KeyCode::Char('6'), NONE),
        (KeyCode::Char('7'), NONE),
        (KeyCode::Char('8'), NONE),
        (KeyCode::Char('9'), NONE),
    ],
)
.help("pick the numbered choice")
.hint(words::PICK);
pub const DECISION_ALLOW: Binding =
    Binding::new(Decision, "y", Action::Allow, &[(KeyCode::Char('y'), NONE)])
        .help("allow once")
        .hint(words::ALLOW);
pub const DECISION_ALWAYS: Binding = Binding::new(
    Decision,
    "a",
    Action::AllowAlways,
    &[(KeyCode::Char('a'), NONE)],
)
.help("allow always (the first such answer offered)")
.hint(words::ALWAYS);
pub const DECISION_DENY: Binding =
    Binding::new(Decision, "n", Action::Deny, &[(KeyCode::Char('n'), NONE)])
        .help("deny (no message)")
        .hint(words::DENY);
pub const DECISION_EDIT: Binding = Binding::new(
    Decision,
    "e",
    Action::EditAndAllow,
    &[(KeyCode::Char('e'), NONE)],
)
.help("edit, then allow")
.hint(words::EDIT);
pub const CHOOSE_HIGHLIGHTED: Binding = Binding::new(
    Decision,
    "Enter",
    Action::ChooseHighlighted,
    &[(KeyCode::Enter, NONE)],
)
.help("the highlighted choice")
.hint(words::CHOOSE);
pub const CHOICE_UP: Binding =
    Binding::new(Decision, "↑/↓", Action::SelectUp, &[(KeyCode::Up, NONE)])
        .help("move the highlight");
/// Described with `CHOICE_UP`.
pub const CHOICE_DOWN: Binding =
    Binding::new(Decision, "↓", Action::SelectDown, &[(KeyCode::Down, NONE)]);
pub const PREVIEW_UP: Binding = Binding::new(
    Decision,
    "PgUp/PgDn",
    Action::PreviewUp,
    &[(KeyCode::PageUp, NONE)],
)
.help("scroll the preview")
.hint(words::SCROLL);
/// Described with `PREVIEW_UP`.
pub const PREVIEW_DOWN: Binding = Binding::new(
    Decision,
    "PgDn",
    Action::PreviewDown,
    &[(KeyCode::PageDown, NONE)],
);
pub const PREV_REQUEST: Binding = Binding::new(
    Decision,
    "[/]",
    Action::PrevRequest,
    &[(KeyCode::Char('['), NONE)],
)
.help("previous / next pending request")
.hint(words::REQUEST);
/// Described with `PREV_REQUEST`.
pub const NEXT_REQUEST: Binding = Binding::new(
    Decision,
    "]",
    Action::NextRequest,
    &[(KeyCode::Char(']'), NONE)],
);
pub const CLOSE_DECISION: Binding = Binding::new(
    Decision,
    "Esc",
    Action::CloseDecision,
    &[(KeyCode::Esc, NONE)],
)
.help("leave it (still pending)")
.hint(words::CLOSE);
pub const DECISION_HELP: Binding = Binding::new(Decision, "?", Action::OpenHelp, QUESTION_MARK);

// A text area of the decision view.
pub const TEXT_SEND: Binding = Binding::new(
    DecisionText,
    "Enter",
    Action::Send,
    &[(KeyCode::Enter, NONE)],
)
.help("send the answer")
.hint(words::SEND);
pub const TEXT_NEW_LINE: Binding = Binding::new(
    DecisionText,
    "Alt+Enter",
    Action::NewLine,
    &[(KeyCode::Enter, ALT), (KeyCode::Enter, SHIFT)],
)
.help("insert a newline")
.hint(words::NEW_LINE);
pub const TEXT_CLOSE: Binding = Binding::new(
    DecisionText,
    "Esc",
    Action::CloseDecision,
    &[(KeyCode::Esc, NONE)],
)
.help("back to the choices (nothing sent)")
.hint(words::BACK);

// Reading and editing: the transcript's block cursor, the input's history.
pub const BLOCK_UP: Binding =
    Binding::new(Transcript, "↑/↓", Action::BlockUp, &[(KeyCode::Up, NONE)])
        .help("select the block before / after")
        .hint(words::SELECT);
/// Described with `BLOCK_UP`.
pub const BLOCK_DOWN: Binding =
    Binding::new(Transcript, "↓", Action::BlockDown, &[(KeyCode::Down, NONE)]);
pub const TOGGLE_BLOCK: Binding = Binding::new(
    Transcript,
    "Enter/o",
    Action::ToggleBlock,
    &[(KeyCode::Enter, NONE), (KeyCode::Char('o'), NONE)],
)
.help("expand / collapse the selected block")
.hint(words::EXPAND);
pub const COPY_BLOCK: Binding = Binding::new(
    Transcript,
    "c",
    Action::CopyBlock,
    &[(KeyCode::Char('c'), NONE)],
)
.help("copy the selected block (all of it) to the clipboard")
.hint(words::COPY);
pub const DELETE_TO_LINE_START: Binding = Binding::new(
    Input,
    "Ctrl+U",
    Action::DeleteToLineStart,
    &[(KeyCode::Char('u'), CTRL)],
)
.help("delete to the start of the line");
pub const EDIT_EXTERNALLY: Binding = Binding::new(
    Input,
    "Ctrl+O",
    Action::EditExternally,
    &[(KeyCode::Char('o'), CTRL)],
)
.help("write the message in $VISUAL or $EDITOR (Ctrl+X Ctrl+E too)");
pub const HISTORY_SEARCH: Binding = Binding::new(
    Input,
    "Ctrl+R",
    Action::HistorySearch,
    &[(KeyCode::Char('r'), CTRL)],
)
.help("search what you sent (earlier runs too)");
pub const HISTORY_PREV: Binding =
    Binding::new(Input, "↑/↓", Action::HistoryPrev, &[(KeyCode::Up, NONE)])
        .help("earlier messages (from an empty box)");
/// Described with `HISTORY_PREV`.
pub const HISTORY_NEXT: Binding =
    Binding::new(Input, "↓", Action::HistoryNext, &[(KeyCode::Down, NONE)]);
/// The table, each binding named after its constant (the name that
/// `[keys]` in the settings file remaps, lower-cased).
macro_rules! keymap {
    ($($binding:ident),* $(,)?) => {
        pub const KEYMAP: &[Binding] = &[$(Binding { name: stringify!($binding), ..$binding }),*];
    };
}

keymap![
    SEND,
    NEW_LINE,
    CYCLE_MODE,
    COMPLETION_NEXT,
    COMPLETION_PREV,
    COMPLETION_ACCEPT,
    COMPLETION_CLOSE,
    ALLOW,
    DENY,
    REQUEST_UP,
    REQUEST_DOWN,
    OPEN_DECISION,
    PERMISSIONS_HELP,
    PARTICIPANT_UP,
    PARTICIPANT_DOWN,
    TRANSFER,
    PARTICIPANTS_HELP,
    LINE_UP,
    LINE_DOWN,
    SEARCH,
    NEXT_MATCH,
    PREV_MATCH,
    TOGGLE_THINKING,
    TRANSCRIPT_HELP,
    START,
    END,
    DECISION_ALLOW,
    DECISION_ALWAYS,
    DECISION_DENY,
    CHOOSE_NUMBERED,
    CHOOSE_HIGHLIGHTED,
    CHOICE_UP,
    CHOICE_DOWN,
    DECISION_EDIT,
    CLOSE_DECISION,
    PREV_REQUEST,
    NEXT_REQUEST,
    PREVIEW_UP,
    PREVIEW_DOWN,
    DECISION_HELP,
    TEXT_SEND,
    TEXT_NEW_LINE,
    TEXT_CLOSE,
    FOCUS_NEXT,
    FOCUS_PREV,
    OPEN_RULES,
    SEARCH_ANYWHERE,
    PAGE_UP,
    PAGE_DOWN,
    GLOBAL_START,
    GLOBAL_END,
    INTERRUPT,
    CANCEL_OR_QUIT,
    CLAIM,
    RELEASE,
    TOGGLE_MOUSE,
    OPEN_HELP,
    QUIT,
    CLOSE_HELP,
    YES,
    NO,
    BLOCK_UP,
    BLOCK_DOWN,
    TOGGLE_BLOCK,
    COPY_BLOCK,
    DELETE_TO_LINE_START,
    EDIT_EXTERNALLY,
    HISTORY_SEARCH,
    HISTORY_PREV,
    HISTORY_NEXT,
    HELP_LINE_UP,
    HELP_LINE_DOWN,
    HELP_PAGE_UP,
    HELP_PAGE_DOWN,
    RULE_UP,
    RULE_DOWN,
    REMOVE_RULE,
    CLOSE_RULES,
    SESSION_LIST,
    OPEN_INBOX,
    NEW_SESSION,
    PREV_SESSION,
    NEXT_SESSION,
    NTH_SESSION,
    JUMP_TO_SESSION,
    LAST_SESSION,
    JUMP_WHILE_READING,
    PICKER_UP,
    PICKER_DOWN,
    PICKER_SWITCH,
    PICKER_DELETE,
    PICKER_RESTART,
    PICKER_CLOSE,
    INBOX_UP,
    INBOX_DOWN,
    INBOX_OPEN,
    INBOX_CLOSE,
    FORM_NEXT_FIELD,
    FORM_PREV_FIELD,
    FORM_PREV_PRESET,
    FORM_NEXT_PRESET,
    FORM_CREATE,
    FORM_CANCEL,
    REASON_SEND,
    REASON_SKIP,
    SEARCH_RUN,
    SEARCH_CANCEL,
    HISTORY_OLDER,
    HISTORY_TAKE,
    HISTORY_CANCEL,
];
