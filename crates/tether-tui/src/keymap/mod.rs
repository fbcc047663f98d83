//! The one keymap table: key handling, the hint line and the help overlay
//! are all generated from it.
//!
//! Each binding is a named constant ([`bindings`]) that carries its keys,
//! how they are written, its help line and its hint word ([`words`]).

pub mod bindings;
pub mod sessions;
pub mod words;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub use bindings::KEYMAP;

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
    /// The transcript's block cursor: the block before / after.
    BlockUp,
    BlockDown,
    /// Expand or collapse the block under the cursor.
    ToggleBlock,
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
}

/// A key with its modifiers.
pub type Chord = (KeyCode, KeyModifiers);

pub struct Binding {
    pub context: Context,
    pub keys: &'static [Chord],
    /// How the keys are written in hints and help.
    pub label: &'static str,
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

/// Contexts where global bindings do not apply.
fn is_modal(context: Context) -> bool {
    matches!(
        context,
        Context::HelpOverlay | Context::Question | Context::DecisionText | Context::RulesOverlay
    )
}

/// The action bound to `key` where `context` has the focus.
pub fn lookup(key: &KeyEvent, context: Context) -> Option<Action> {
    let global = (!is_modal(context)).then_some(Context::Global);
    KEYMAP
        .iter()
        .filter(|b| b.context == context)
        .chain(KEYMAP.iter().filter(|b| Some(b.context) == global))
        .find(|b| matches(b, key))
        .map(|b| b.action)
}

/// The bindings on the hint line of a context: the context's own first,
/// then the global ones it does not shadow (none while a modal one is
/// open), each in table order.
pub fn hints(context: Context) -> impl Iterator<Item = &'static Binding> {
    let modal = is_modal(context);
    // A global key the context binds to something else is not offered.
    let shadowed = move |b: &Binding| {
        KEYMAP
            .iter()
            .any(|own| own.context == context && own.keys.iter().any(|k| b.keys.contains(k)))
    };
    let own = KEYMAP.iter().filter(move |b| b.context == context);
    let global = KEYMAP
        .iter()
        .filter(move |b| !modal && b.context == Context::Global && !shadowed(b));
    own.chain(global).filter(|b| b.hint.is_some())
}

/// The help overlay's closing line ("Esc, ? or F1 closes this help.").
pub fn help_closing_line() -> String {
    let close = &bindings::CLOSE_HELP;
    format!("{} {}", close.label, close.help.unwrap_or_default())
}

/// Sections for the help overlay: (heading, [(keys, help)]).
pub fn help_sections() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    let section = |context| {
        KEYMAP
            .iter()
            .filter(|b| b.context == context)
            .filter_map(|b| Some((b.label, b.help?)))
            .collect()
    };
    vec![
        ("Everywhere", section(Context::Global)),
        ("Sessions", sessions::session_help()),
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
    ]
}

#[cfg(test)]
mod tests;
