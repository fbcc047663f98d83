//! The application state and its pure `update` function.
//!
//! Everything that happens — a server message, a connection change, a key,
//! a paste, a resize, the clock — arrives as a [`Msg`]; `update` changes the
//! state and returns [`Effect`]s for the event loop to carry out (send a
//! message, reconnect, quit). Rendering reads the state only.

mod agent;
pub mod apply;
pub mod choices;
pub mod completion;
pub mod decision;
mod history;
mod keys;
pub mod modal;
pub mod ownership;
pub mod paging;
pub mod participant_labels;
pub use modal::{Modal, Question};
mod reading;
pub mod rules;
pub mod text_edit;
mod turn;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui_textarea::TextArea;
use serde_json::Value;

use super::cells::StreamTails;
use super::transcript::Transcript;
use crate::client::ConnEvent;
use crate::protocol::{
    AgentInfo, AgentState, ClientMessage, ParticipantInfo, PermissionOption, Preview, Role,
    SessionDescription, UserMessage, You,
};

/// Everything `update` reacts to.
// Moved through channels a few at a time; boxing the large variant would
// cost an allocation per server message instead.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Msg {
    Conn(ConnEvent),
    Key(KeyEvent),
    Paste(String),
    Mouse(MouseEvent),
    /// Time passed (for countdowns and waiting times).
    Tick,
    /// What was sent in this session in earlier runs, oldest first.
    History(Vec<String>),
    /// The message as the editor left it (None: the editor failed).
    Edited(Option<String>),
}

/// What the event loop must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(ClientMessage),
    /// Turn the terminal's mouse capture on (wheel scrolls) or off (the
    /// terminal selects text).
    MouseCapture(bool),
    /// Drop the connection and connect again (after a new epoch).
    Reconnect,
    /// Keep a sent text in the session's history file.
    Remember(String),
    /// Put this text on the terminal's clipboard (OSC 52).
    Copy(String),
    /// Open the message in the user's editor; the text comes back as
    /// `Msg::Edited`.
    EditExternally(String),
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Input,
    Permissions,
    Transcript,
    Participants,
}

impl Focus {
    pub fn next(self) -> Self {
        match self {
            Focus::Input => Focus::Permissions,
            Focus::Permissions => Focus::Transcript,
            Focus::Transcript => Focus::Participants,
            Focus::Participants => Focus::Input,
        }
    }

    pub fn prev(self) -> Self {
        match self {
            Focus::Input => Focus::Participants,
            Focus::Permissions => Focus::Input,
            Focus::Transcript => Focus::Permissions,
            Focus::Participants => Focus::Transcript,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnState {
    Connecting,
    Connected { rtt: Option<Duration> },
    Reconnecting { at: Instant, reason: String },
    Disconnected { reason: String },
}

/// A permission request waiting for the owner.
#[derive(Debug, Clone)]
pub struct Pending {
    pub request_id: String,
    pub tool: String,
    pub summary: String,
    pub input: Value,
    /// When it was raised (from the event's timestamp).
    pub raised: Option<SystemTime>,
    /// The agent's own words for it (untrusted, shown sanitised).
    pub title: Option<String>,
    pub description: Option<String>,
    /// What it will do, as the host computed it.
    pub preview: Option<Box<Preview>>,
    /// The answers offered (empty from an older host).
    pub options: Vec<PermissionOption>,
    /// Whether the agent can run an edited input (the session says so in
    /// `ready`): edit-and-allow is offered only then.
    pub editable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

/// A short message in the status bar; it goes after a few seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub text: String,
    pub level: Level,
    /// When it was said.
    pub since: Instant,
}

/// A message sent but not yet acknowledged; resent with the same id after
/// a reconnect so it is never lost nor applied twice.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub message: ClientMessage,
    /// The input text it came from, restored if the host refuses it.
    pub text: Option<String>,
}

/// What a claim was made for, done once it lands: the message in the
/// box, or the inbox's key answering a request.
#[derive(Debug, Clone)]
enum AfterClaim {
    Send,
    Key(crossterm::event::KeyEvent),
}

/// Static facts the UI shows (how to watch an embedded session).
#[derive(Debug, Clone, Default)]
pub struct Hints {
    pub watch_command: Option<String>,
    /// The broker a relayed session is reached through (`nats://HOST:PORT`).
    pub via: Option<String>,
}

pub struct App {
    pub conn: ConnState,
    pub view_mode: bool,
    /// A session the deck only watches: its input box takes text while
    /// the owner slot is free, and sending it claims the slot first.
    pub claim_on_send: bool,
    /// What waits for the claim this client made to land.
    after_claim: Option<AfterClaim>,
    /// Ctrl+X was pressed in the box: Ctrl+E next opens the editor.
    after_ctrl_x: bool,
    pub session: Option<SessionDescription>,
    pub me: Option<You>,
    pub role: Role,
    pub agent_state: AgentState,
    pub model: Option<String>,
    pub transcript: Transcript,
    pub pending: Vec<Pending>,
    pub selected_request: usize,
    pub participants: Vec<ParticipantInfo>,
    /// Participants the host's list leaves out: counted, not shown.
    pub unlisted_participants: u64,
    /// `participants` as the pane shows them (made with the list).
    pub participant_labels: participant_labels::ParticipantLabels,
    pub selected_participant: usize,
    pub input: TextArea<'static>,
    pub focus: Focus,
    /// Popups, prompts and questions over the panes, innermost last: the
    /// innermost has the keys and the footer (see [`modal`]).
    pub modals: Vec<Modal>,
    pub status: Option<StatusLine>,
    pub hints: Hints,
    /// The highest event seq applied; shared with the connection task,
    /// which asks for `since=` this on reconnect.
    last_applied: Arc<AtomicU64>,
    /// A `resume` is under way; events are applied as they come again.
    resuming: bool,
    /// After a new epoch: ignore everything until the next `ready`.
    awaiting_ready: bool,
    /// The next `role` is the greeting's, not a change worth announcing.
    greeting_role: bool,
    in_flight: VecDeque<(String, InFlight)>,
    /// Per output stream: the tail of an escape sequence split across
    /// chunks, and the SGR style the last chunk left.
    streams: StreamTails,
    next_id: u64,
    id_prefix: String,
    last_ctrl_c: Option<Instant>,
    pub now: Instant,
    pub wall: SystemTime,
    quit: bool,
    /// The slot the host holds for a disconnected owner (`participants`).
    pub owner_slot: Option<ownership::HeldSlot>,
    /// When the running turn started; None while idle.
    turn_started: Option<SystemTime>,
    /// The terminal captures the mouse (wheel scrolls, no selection).
    pub mouse_capture: bool,
    /// The decision view on pending permission requests.
    pub decision: decision::DecisionView,
    /// What was sent in this session, for ↑/↓ in the input box.
    history: history::History,
    /// Tool calls held until their permission request is answered.
    tool_order: reading::ToolOrder,
    /// The order events read in (shared with the plain output).
    order: crate::tui::cells::sequence::Sequencer,
    /// The agent's mode, modes, slash commands, plan and usage.
    pub agent: AgentInfo,
    /// The transcript block of this turn's plan, redrawn in place.
    plan_block: Option<usize>,
    /// The slash-command popup's highlight and dismissal.
    completion: completion::Completion,
    /// Where this session is drawn (the deck gives it its part of the
    /// screen); what the layout is computed for.
    pub area: ratatui::layout::Rect,
    /// Where the deck shows this session's decision view on its own (the
    /// inbox), instead of at the bottom of `area`.
    pub decision_area: Option<ratatui::layout::Rect>,
    /// Output arrived since the streams last ended (long output folds then).
    output_open: bool,
    /// Requests waiting in the deck's other sessions, when its session
    /// list is not on screen to say so (the status bar does).
    pub waiting_elsewhere: usize,
    /// The transcript beyond what memory keeps (see [`paging`]).
    paging: paging::Paging,
}

fn new_input(placeholder: &str) -> TextArea<'static> {
    let mut input = TextArea::default();
    input.set_placeholder_text(placeholder.to_owned());
    input.set_cursor_line_style(ratatui::style::Style::default());
    input
}

/// How long a status message stays.
const STATUS_TTL: Duration = Duration::from_secs(6);
/// Two Ctrl+C within this quit.
const DOUBLE_CTRL_C: Duration = Duration::from_secs(1);

impl App {
    pub fn new(view_mode: bool, last_applied: Arc<AtomicU64>) -> Self {
        App {
            conn: ConnState::Connecting,
            view_mode,
            claim_on_send: false,
            after_claim: None,
            after_ctrl_x: false,
            session: None,
            me: None,
            role: Role::Follower,
            agent_state: AgentState::Starting,
            model: None,
            transcript: Transcript::new(),
            pending: Vec::new(),
            selected_request: 0,
            participants: Vec::new(),
            unlisted_participants: 0,
            participant_labels: Default::default(),
            selected_participant: 0,
            input: new_input("Type a message; Enter sends"),
            focus: Focus::Input,
            modals: Vec::new(),
            status: None,
            hints: Hints::default(),
            last_applied,
            resuming: false,
            awaiting_ready: false,
            greeting_role: true,
            in_flight: VecDeque::new(),
            streams: Default::default(),
            next_id: 0,
            id_prefix: format!("{:016x}", rand::random::<u64>()),
            last_ctrl_c: None,
            now: Instant::now(),
            wall: SystemTime::now(),
            quit: false,
            owner_slot: None,
            turn_started: None,
            mouse_capture: true,
            decision: decision::DecisionView::default(),
            history: Default::default(),
            tool_order: Default::default(),
            order: Default::default(),
            agent: AgentInfo::default(),
            plan_block: None,
            completion: Default::default(),
            area: ratatui::layout::Rect::default(),
            decision_area: None,
            waiting_elsewhere: 0,
            output_open: false,
            paging: Default::default(),
        }
    }

    /// The session is now drawn in `area` (a resize, the sidebar shown).
    pub fn resize(&mut self, area: ratatui::layout::Rect) {
        self.area = area;
    }

    /// Where everything goes in `area`: the one layout drawing and the
    /// keys that depend on it (a page, the last row) both use. Makes the
    /// wrapped lines it needs first (caches for the width), and gives the
    /// transcript its view.
    pub fn layout(&mut self) -> crate::tui::ui::layout::AppLayout {
        if self.decision_shown() {
            let width = self.decision_area.unwrap_or(self.area).width;
            crate::tui::ui::decision::prepare(self, width);
        }
        let layout = crate::tui::ui::layout::app_layout(self);
        let text_width = layout.transcript.width.saturating_sub(2);
        self.transcript.set_view(text_width, layout.transcript_rows);
        layout
    }

    pub fn last_applied(&self) -> u64 {
        self.last_applied.load(Ordering::Acquire)
    }

    fn set_last_applied(&self, seq: u64) {
        self.last_applied.store(seq, Ordering::Release);
    }

    pub fn is_owner(&self) -> bool {
        self.role == Role::Owner && !self.view_mode
    }

    /// The role shown: `viewer` in --view mode.
    pub fn role_label(&self) -> &'static str {
        match (self.view_mode, self.role) {
            (true, _) => "viewer",
            (false, Role::Owner) => "owner",
            (false, Role::Follower) => "follower",
        }
    }

    pub fn agent_busy(&self) -> bool {
        matches!(
            self.agent_state,
            AgentState::Running | AgentState::AwaitingPermission
        )
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether something on screen changes with time alone (so the loop
    /// needs a clock tick): countdowns, waiting times, status expiry.
    pub fn needs_tick(&self) -> bool {
        !self.pending.is_empty()
            || matches!(self.conn, ConnState::Reconnecting { .. })
            || self.status.is_some()
            || self.last_ctrl_c.is_some()
            || self.slot_counting_down()
            || self.turn_elapsed().is_some()
    }

    /// Ids of messages sent and not yet answered.
    pub fn in_flight_ids(&self) -> impl Iterator<Item = &str> {
        self.in_flight.iter().map(|(id, _)| id.as_str())
    }

    /// Whether a message from the box is on its way (the box is locked):
    /// sent and not yet acknowledged, or waiting for the claim made for it.
    pub fn sending(&self) -> bool {
        matches!(self.after_claim, Some(AfterClaim::Send))
            || self
                .in_flight
                .iter()
                .any(|(_, f)| matches!(f.message, ClientMessage::UserMessage(UserMessage { .. })))
    }

    /// Whether the input box takes text now: the owner's, or a watched
    /// session's whose free slot this client may claim by sending.
    pub fn may_write(&self) -> bool {
        use ownership::Ownership;
        self.is_owner()
            || (self.claim_on_send
                && (matches!(self.after_claim, Some(AfterClaim::Send))
                    || self.ownership() == Ownership::Free { claimable: true }))
    }

    /// Whether the box may be edited now (writable and not locked).
    pub fn can_edit_input(&self) -> bool {
        self.may_write() && !self.sending()
    }

    fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        format!("{}-{}", self.id_prefix, self.next_id)
    }

    /// Shows an error in the status bar (for what the deck around the app
    /// refuses).
    pub fn note_error(&mut self, text: impl Into<String>) {
        self.say(text, Level::Error);
    }

    fn say(&mut self, text: impl Into<String>, level: Level) {
        self.status = Some(StatusLine {
            text: text.into(),
            level,
            since: self.now,
        });
    }

    /// Sends an owner action, remembering it until it is answered.
    fn send_tracked(
        &mut self,
        build: impl FnOnce(String) -> ClientMessage,
        text: Option<String>,
    ) -> Vec<Effect> {
        let id = self.fresh_id();
        let message = build(id.clone());
        self.in_flight.push_back((
            id,
            InFlight {
                message: message.clone(),
                text,
            },
        ));
        if matches!(self.conn, ConnState::Connected { .. }) {
            vec![Effect::Send(message)]
        } else {
            self.say("not connected: will send on reconnect", Level::Info);
            Vec::new()
        }
    }

    pub fn update(&mut self, msg: Msg, now: Instant, wall: SystemTime) -> Vec<Effect> {
        self.now = now;
        self.wall = wall;
        if let Some(status) = &self.status
            && now.duration_since(status.since) > STATUS_TTL
        {
            self.status = None;
        }
        if self
            .last_ctrl_c
            .is_some_and(|at| now.duration_since(at) > DOUBLE_CTRL_C)
        {
            self.last_ctrl_c = None;
        }
        if let Msg::Key(key) = &msg {
            self.note_key(key);
        }
        // Pages are fetched when the user scrolls to an edge, not when a
        // message comes while the view rests on one.
        let user = matches!(msg, Msg::Key(_) | Msg::Mouse(_));
        let edge = user.then(|| self.transcript_edge());
        if user {
            self.release_paging();
        }
        let effects = match msg {
            Msg::Conn(event) => self.on_conn(event),
            Msg::Key(key) => self.on_key(key),
            Msg::Paste(text) => self.on_paste(text),
            Msg::Mouse(mouse) => self.on_mouse(mouse),
            Msg::Tick => Vec::new(),
            Msg::History(entries) => {
                self.history.preload(entries);
                Vec::new()
            }
            Msg::Edited(text) => {
                self.take_edited(text);
                Vec::new()
            }
        };
        let mut effects = effects;
        if let Some(edge) = edge {
            effects.extend(self.page_if_needed(edge));
        }
        self.sync_decision();
        if effects.contains(&Effect::Quit) {
            self.quit = true;
        }
        effects
    }

    fn on_conn(&mut self, event: ConnEvent) -> Vec<Effect> {
        match event {
            ConnEvent::Connecting { .. } => {
                if !matches!(self.conn, ConnState::Reconnecting { .. }) {
                    self.conn = ConnState::Connecting;
                }
                Vec::new()
            }
            ConnEvent::Connected => {
                self.conn = ConnState::Connected { rtt: None };
                // Everything unanswered goes again, with its original id.
                self.in_flight
                    .iter()
                    .map(|(_, f)| Effect::Send(f.message.clone()))
                    .collect()
            }
            ConnEvent::Rtt(rtt) => {
                if let ConnState::Connected { rtt: r } = &mut self.conn {
                    *r = Some(rtt);
                }
                Vec::new()
            }
            ConnEvent::Lost { reason, retry_in } => {
                self.conn = ConnState::Reconnecting {
                    at: self.now + retry_in,
                    reason,
                };
                self.resuming = false;
                self.forget_history_request();
                Vec::new()
            }
            ConnEvent::Failed(error) => {
                self.after_claim = None;
                self.conn = ConnState::Disconnected {
                    reason: error.to_string(),
                };
                Vec::new()
            }
            ConnEvent::Message(message) => self.on_message(message),
        }
    }

    fn on_paste(&mut self, text: String) -> Vec<Effect> {
        let can_type = self.focus == Focus::Input && self.can_edit_input();
        // The decision view has the keys: a paste goes to its text area
        // only, never to the input box underneath.
        if self.modals.is_empty() && self.decision_context().is_some() {
            if let Some(editor) = self.decision.editor_mut() {
                let text = text.replace("\r\n", "\n").replace('\r', "\n");
                editor.text.insert_str(text);
            }
            return Vec::new();
        }
        match self.modals.last_mut() {
            Some(Modal::DenyReason { reason, .. }) => {
                reason.insert_str(text.replace(['\r', '\n'], " "));
            }
            Some(Modal::Search { query }) => {
                query.insert_str(text.replace(['\r', '\n'], " "));
            }
            Some(Modal::HistorySearch { query, found }) => {
                query.insert_str(text.replace(['\r', '\n'], " "));
                let text = query.lines().join(" ");
                *found = self.history.find(&text, None).map(|(at, _)| at);
            }
            Some(Modal::Help { .. } | Modal::Rules(_) | Modal::Question(_)) => {}
            None if can_type => {
                self.input
                    .insert_str(text.replace("\r\n", "\n").replace('\r', "\n"));
            }
            None => {}
        }
        Vec::new()
    }

    fn on_mouse(&mut self, mouse: MouseEvent) -> Vec<Effect> {
        use crossterm::event::MouseEventKind;
        match mouse.kind {
            MouseEventKind::ScrollUp => self.transcript.scroll_up(3),
            MouseEventKind::ScrollDown => self.transcript.scroll_down(3),
            _ => {}
        }
        Vec::new()
    }
}

#[cfg(test)]
pub(crate) mod tests;
