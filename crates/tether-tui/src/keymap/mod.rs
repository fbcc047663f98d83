//! The one keymap table: key handling, the hint line and the help overlay
//! are all generated from it.
//!
//! Each binding is a named constant ([`bindings`]) that carries its keys,
//! how they are written, its help line and its hint word ([`words`]).

pub mod bindings;
mod chord;
mod remap;
pub mod words;

use std::sync::OnceLock;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub use bindings::KEYMAP;
pub use chord::{chord_label, parse_chord};
pub use remap::{RemapError, remapped};

/// What a key asks for, named by intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    FocusNext,
    FocusPrev,
    /// Shift+Tab in the input: the owner switches the agent to its next
    /// mode (an agent without modes: the previous pane, as elsewhere).
    CycleMode,
    Send,
    NewLine,
    Allow,
    Deny,
    SelectUp,
    SelectDown,
    /// Esc outside overlays: interrupt the agent (owner only).
    Interrupt,
    /// Ctrl+C: interrupt a busy agent, else clear the input, else (twice)
    /// quit.
    CancelOrQuit,
    Quit,
    OpenHelp,
    CloseHelp,
    PageUp,
    PageDown,
    ScrollToStart,
    /// The transcript's end, following new output again.
    ScrollToEnd,
    LineUp,
    LineDown,
    Search,
    NextMatch,
    PrevMatch,
    ToggleThinking,
    ClaimOwnership,
    ReleaseOwnership,
    TransferOwnership,
    /// Yes to the question asked (transfer ownership to …?).
    Confirm,
    /// No to the question asked.
    Decline,
    /// Mouse capture on (the wheel scrolls) or off (the terminal selects
    /// text).
    ToggleMouse,
    /// Permissions pane: open the decision view on the selected request.
    OpenDecision,
    /// Decision: the choice numbered by the digit pressed.
    ChooseNumbered,
    /// Decision: the highlighted choice.
    ChooseHighlighted,
    /// Decision: edit the command (or the input) before allowing it.
    EditAndAllow,
    /// Decision: the first allow-always answer the request offers.
    AllowAlways,
    /// Decision: scroll the preview.
    PreviewUp,
    PreviewDown,
    /// Decision: the previous / next pending request.
    PrevRequest,
    NextRequest,
    /// Decision: close its text area, else leave the view (the request
    /// stays pending).
    CloseDecision,
    // Reading and editing (issue 10: keys that never surprise).
    /// Ctrl+U in the input: delete from the cursor to the line's start.
    DeleteToLineStart,
    /// ↑ in the input: the message sent before (on an empty input or its
    /// first line; otherwise the cursor moves up).
    HistoryPrev,
    /// ↓ in the input: the message sent after, then the draft again.
    HistoryNext,
    /// Ctrl+R: search what was sent (this run and earlier ones); again,
    /// the match before.
    HistorySearch,
    /// The transcript's block cursor: the block before / after.
    BlockUp,
    BlockDown,
    /// Expand or collapse the block under the cursor.
    ToggleBlock,
    /// Copy the block under the cursor to the clipboard (OSC 52).
    CopyBlock,
    /// Write the message in `$VISUAL`/`$EDITOR`.
    EditExternally,
    /// The slash-command popup: the next / previous command, take the
    /// highlighted one into the box, close the popup.
    CompletionNext,
    CompletionPrev,
    CompletionAccept,
    CompletionClose,
    /// The rules in force (an overlay; the owner removes them there).
    OpenRules,
    /// Rules overlay: remove the highlighted rule (after a y/n question).
    RemoveRule,
    CloseRules,
    // The deck: over every session, and its panels.
    /// The session list: a sidebar on wide screens, the picker on narrow.
    SessionList,
    /// Every request waiting, in every session.
    OpenInbox,
    /// A new session (admins).
    NewSession,
    PrevSession,
    NextSession,
    /// The nth session of the list (Alt+1 is the first).
    NthSession,
    /// The picker, to jump to a session by typing its name.
    JumpToSession,
    /// Back to the session shown before this one (again: forth).
    LastSession,
    /// Picker and inbox: show the highlighted session (or request's).
    OpenSession,
    /// Picker: delete / restart the highlighted session (after y/n).
    DeleteSession,
    RestartSession,
    /// Close the deck's panel.
    ClosePanel,
    /// New-session form: the preset before / after, create it.
    PrevPreset,
    NextPreset,
    CreateSession,
}

/// Where a binding applies; `Global` applies everywhere unless a more
/// specific binding of the focused pane takes the key first. `HelpOverlay`
/// applies while the help is open (nothing else does then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Input,
    Permissions,
    Transcript,
    Participants,
    HelpOverlay,
    /// A y/n question (transfer ownership to …?) waits for its answer.
    Question,
    /// The decision view on a permission request has the keys.
    Decision,
    /// A text area of the decision view (the edited command or input, or
    /// the message to the agent) has the keys.
    DecisionText,
    /// The input box while the slash-command popup is open.
    Completion,
    /// The rules overlay is open (nothing else applies then).
    RulesOverlay,
    /// The prompt for a denial's reason.
    DenyReason,
    /// The transcript search prompt.
    SearchPrompt,
    /// Searching the messages sent (Ctrl+R).
    HistorySearch,
    /// The deck's chords: they take a key first, over every session (but
    /// not while one of its panels is open).
    Sessions,
    /// The deck's chords that are plain characters: they apply only where
    /// a typed character goes nowhere (the session on screen is read-only
    /// to this client, or there is none), after `Sessions`'.
    ReadOnly,
    /// The deck's panels, full screen over the sessions.
    Picker,
    Inbox,
    NewSession,
}

/// A key with its modifiers.
pub type Chord = (KeyCode, KeyModifiers);

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Its constant's name: `[keys]` in the settings file remaps it by
    /// this name, lower-cased.
    pub name: &'static str,
    pub context: Context,
    pub keys: &'static [Chord],
    /// How the keys are written in hints and help.
    pub label: &'static str,
    /// How they are written on the hint line, when shorter than `label`.
    pub short: Option<&'static str>,
    pub action: Action,
    /// The help overlay's line. `None` only for the second key of a pair
    /// whose line (the binding just before, labelled "PgUp/PgDn") already
    /// describes it, and for keys repeated from another section.
    pub help: Option<&'static str>,
    /// The word on the hint line when its context is focused; `None`
    /// keeps it off the hint line.
    pub hint: Option<&'static str>,
}

fn matches(binding: &Binding, key: &KeyEvent) -> bool {
    binding.keys.iter().any(|(code, mods)| {
        // Terminals differ in whether they add SHIFT to a shifted character.
        let key_mods = match key.code {
            KeyCode::Char(_) | KeyCode::BackTab => key.modifiers - KeyModifiers::SHIFT,
            _ => key.modifiers,
        };
        let want = match code {
            KeyCode::Char(_) | KeyCode::BackTab => *mods - KeyModifiers::SHIFT,
            _ => *mods,
        };
        *code == key.code && key_mods == want
    })
}

impl Binding {
    /// How the keys are written on the hint line.
    pub fn hint_label(&self) -> &'static str {
        self.short.unwrap_or(self.label)
    }

    /// The config name (`[keys]` in the settings file).
    pub fn config_name(&self) -> String {
        self.name.to_ascii_lowercase()
    }
}

/// Whether the global bindings apply where `context` has the keys: in
/// the panes, yes; in a modal (an overlay, a prompt, a question, a text
/// area, a deck panel) only its own keys work.
fn takes_global_keys(context: Context) -> bool {
    match context {
        Context::Global
        | Context::Input
        | Context::Permissions
        | Context::Transcript
        | Context::Participants
        | Context::Decision
        | Context::Completion => true,
        Context::HelpOverlay
        | Context::Question
        | Context::DecisionText
        | Context::RulesOverlay
        | Context::DenyReason
        | Context::SearchPrompt
        | Context::HistorySearch
        | Context::Sessions
        | Context::ReadOnly
        | Context::Picker
        | Context::Inbox
        | Context::NewSession => false,
    }
}

/// The table in use: the defaults, or the defaults with the settings
/// file's `[keys]` applied (see [`install`]).
pub fn table() -> &'static [Binding] {
    ACTIVE.get().map_or(KEYMAP, Vec::as_slice)
}

static ACTIVE: OnceLock<Vec<Binding>> = OnceLock::new();

/// Makes `bindings` (from [`remapped`]) the table for the rest of the
/// process; called once, before the UI starts. A second call is refused.
pub fn install(bindings: Vec<Binding>) -> Result<(), Vec<Binding>> {
    ACTIVE.set(bindings)
}

/// The binding of a context for an action, as the table has it (for
/// hints that name another key: "Tab to Permissions").
pub fn binding(context: Context, action: Action) -> Option<&'static Binding> {
    table()
        .iter()
        .find(|b| b.context == context && b.action == action)
}

/// The action bound to `key` where `context` has the focus.
pub fn lookup(key: &KeyEvent, context: Context) -> Option<Action> {
    let global = takes_global_keys(context).then_some(Context::Global);
    let table = table();
    table
        .iter()
        .filter(|b| b.context == context)
        .chain(table.iter().filter(|b| Some(b.context) == global))
        .find(|b| matches(b, key))
        .map(|b| b.action)
}

/// The bindings on the hint line of a context: the context's own first,
/// then the global ones it does not shadow (none while a modal one is
/// open), each in table order.
pub fn hints(context: Context) -> impl Iterator<Item = &'static Binding> {
    let global = takes_global_keys(context);
    let table = table();
    // A global key the context binds to something else is not offered.
    let shadowed = move |b: &Binding| {
        table
            .iter()
            .any(|own| own.context == context && own.keys.iter().any(|k| b.keys.contains(k)))
    };
    let own = table.iter().filter(move |b| b.context == context);
    let globals = table
        .iter()
        .filter(move |b| global && b.context == Context::Global && !shadowed(b));
    own.chain(globals).filter(|b| b.hint.is_some())
}

/// A deck panel's hint line, drawn in its border: " Enter switch · Esc
/// close ", with `lead` (what typing does) first.
pub fn panel_hints(context: Context, lead: Option<&str>) -> String {
    let mut items: Vec<String> = lead.map(str::to_owned).into_iter().collect();
    items.extend(
        hints(context).map(|b| format!("{} {}", b.hint_label(), b.hint.unwrap_or_default())),
    );
    format!(" {} ", items.join(" · "))
}

/// The help overlay's closing line ("Esc, ? or F1 closes this help.").
pub fn help_closing_line() -> String {
    let close = binding(Context::HelpOverlay, Action::CloseHelp).unwrap_or(&bindings::CLOSE_HELP);
    format!("{} {}", close.label, close.help.unwrap_or_default())
}

/// Sections for the help overlay: (heading, [(keys, help)]).
pub fn help_sections() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    let section = |context| {
        table()
            .iter()
            .filter(|b| b.context == context)
            .filter_map(|b| Some((b.label, b.help?)))
            .collect()
    };
    vec![
        ("Everywhere", section(Context::Global)),
        ("Sessions", section(Context::Sessions)),
        ("Permission request", section(Context::Decision)),
        ("Input box", section(Context::Input)),
        (
            "Slash commands (input starting with /)",
            section(Context::Completion),
        ),
        ("Permissions pane", section(Context::Permissions)),
        ("Transcript pane", section(Context::Transcript)),
        ("Participants pane", section(Context::Participants)),
        ("Rules (F4)", section(Context::RulesOverlay)),
        ("Search prompt", section(Context::SearchPrompt)),
        (
            "Searching sent messages (Ctrl+R)",
            section(Context::HistorySearch),
        ),
        ("Reason for a denial", section(Context::DenyReason)),
        ("Session picker (type to filter)", section(Context::Picker)),
        (
            "Inbox (other keys answer the request)",
            section(Context::Inbox),
        ),
        ("New session", section(Context::NewSession)),
    ]
}

#[cfg(test)]
mod tests;

/// docs/keys.md: every binding by its config name, with its keys and
/// what it does, section by section (a test keeps the file in step).
pub fn reference() -> String {
    let mut text = String::from(
        "# Keys\n\nEvery key tether's full-screen UI handles, by the name `[keys]` in\n\
         `~/.config/tether/config.toml` remaps it with:\n\n\
         ```toml\n[keys]\nsession_list = \"Ctrl+L\"\nquit = [\"Ctrl+Q\", \"F10\"]\n```\n\n\
         A key is written as in the help (`Ctrl+S`, `Alt+Enter`, `Shift+Tab`, `F4`,\n\
         `PgUp`, `y`). An unknown name, a key that is not a key, or a key that\n\
         another binding in effect at the same time already has is an error at\n\
         start. Keys that read the digit pressed (`choose_numbered`,\n\
         `nth_session`) cannot be remapped.\n\n\
         This file is generated from the keymap table (`cargo test` checks it).\n",
    );
    for context in CONTEXTS {
        text.push_str(&format!(
            "\n## {context:?}\n\n| name | keys | does |\n|---|---|---|\n"
        ));
        let mut described = false;
        for b in KEYMAP.iter().filter(|b| b.context == context) {
            let keys: Vec<String> = b.keys.iter().map(|k| chord_label(*k)).collect();
            // Alone in its context, a key says which key it repeats.
            let same = KEYMAP
                .iter()
                .find(|o| o.action == b.action && o.context != context && o.help.is_some());
            let does = match (b.help, same) {
                (Some(help), _) => help.to_owned(),
                (None, Some(other)) if !described => format!("as `{}`", other.config_name()),
                (None, _) => "(described with the binding before)".to_owned(),
            };
            described = true;
            text.push_str(&format!(
                "| `{}` | {} | {} |\n",
                b.config_name(),
                keys.join(", ").replace('|', "\\|"),
                does.replace('|', "\\|")
            ));
        }
    }
    text
}

/// Every context, in the order docs/keys.md lists them.
const CONTEXTS: [Context; 19] = [
    Context::Global,
    Context::Sessions,
    Context::ReadOnly,
    Context::Input,
    Context::Completion,
    Context::Permissions,
    Context::Transcript,
    Context::Participants,
    Context::Decision,
    Context::DecisionText,
    Context::HelpOverlay,
    Context::Question,
    Context::RulesOverlay,
    Context::DenyReason,
    Context::SearchPrompt,
    Context::HistorySearch,
    Context::Picker,
    Context::Inbox,
    Context::NewSession,
];
