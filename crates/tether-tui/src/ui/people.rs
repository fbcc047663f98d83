//! The participants pane's table: identity, role, client, since; each
//! column fits its width (names are ellipsized, never wrapped).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::fit::{truncate, width};
use crate::protocol::{Grant, Mode, Role};
use crate::tui::app::App;
use crate::tui::app::apply::waited;
use crate::tui::app::participant_labels::ParticipantLabels;
use crate::tui::theme;

/// One participant, as shown.
pub struct Row<'a> {
    identity: &'a str,
    role: &'static str,
    role_style: Style,
    client: &'a str,
    since: String,
}

/// Participant `i` of the list (and of its labels, made with it).
pub fn row(app: &App, i: usize) -> Row<'_> {
    let p = &app.participants[i];
    let label = &app.participant_labels.rows[i];
    let watching = p.mode == Mode::View || !p.grants.contains(&Grant::Control);
    let (role, role_style) = match (p.role, watching) {
        (Role::Owner, _) => ("owner", theme::OK),
        (Role::Follower, false) => ("follower", theme::DIM),
        (Role::Follower, true) => ("viewer", theme::DIM),
    };
    Row {
        identity: &label.identity,
        role,
        role_style,
        client: &label.client,
        since: waited(app.wall, label.connected),
    }
}

const ROLE: usize = 8;
const SINCE: usize = 5;
const CLIENT_MAX: usize = 14;
/// Narrower than this, the client column goes.
const CLIENT_MIN: usize = 6;
/// Names get at least this much before the client column does.
const IDENTITY_MIN: usize = 11;

/// Column widths for a pane `room` columns wide.
pub struct Columns {
    identity: usize,
    client: usize,
}

impl Columns {
    /// Role and since keep their width; names get what they need (up to
    /// `IDENTITY_MIN` before the client column shrinks), the client
    /// column the rest, and goes when too narrow.
    pub fn fit(room: usize, labels: &ParticipantLabels) -> Columns {
        let identity_want = labels.identity_width.max(width("identity"));
        let client_want = labels.client_width.max(width("client")).min(CLIENT_MAX);
        let fixed = 1 + ROLE + 1 + SINCE;
        let free = room.saturating_sub(fixed);
        if identity_want + 1 + client_want <= free {
            return Columns {
                identity: free - 1 - client_want,
                client: client_want,
            };
        }
        let identity = identity_want.min(IDENTITY_MIN);
        let client = free.saturating_sub(identity + 1);
        if client >= CLIENT_MIN {
            Columns { identity, client }
        } else {
            Columns {
                identity: free,
                client: 0,
            }
        }
    }

    fn cells(&self, identity: &str, role: &str, client: &str, since: &str) -> [String; 4] {
        let pad = |text: &str, w: usize| format!("{:<w$}", truncate(text, w));
        [
            pad(identity, self.identity),
            format!(" {}", pad(role, ROLE)),
            if self.client == 0 {
                String::new()
            } else {
                format!(" {}", pad(client, self.client))
            },
            format!(" {:>SINCE$}", truncate(since, SINCE)),
        ]
    }

    pub fn header(&self) -> Line<'static> {
        let style = theme::DIM.patch(theme::BOLD);
        let cells = self.cells("identity", "role", "client", "since");
        Line::from(cells.map(|c| Span::styled(c, style)).to_vec())
    }

    pub fn line(&self, row: &Row, selected: bool) -> Line<'static> {
        let base = if selected {
            theme::SELECTED
        } else {
            Style::default()
        };
        let [identity, role, client, since] =
            self.cells(row.identity, row.role, row.client, &row.since);
        Line::from(vec![
            Span::styled(identity, base.patch(theme::BOLD)),
            Span::styled(role, base.patch(row.role_style)),
            Span::styled(client, base.patch(theme::DIM)),
            Span::styled(since, base.patch(theme::DIM)),
        ])
    }
}
