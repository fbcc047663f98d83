//! The words of the hint line, in one place so they read alike.

pub const PANE: &str = "pane";
pub const SEND: &str = "send";
pub const NEW_LINE: &str = "newline";
pub const ALLOW: &str = "allow";
pub const DENY: &str = "deny";
pub const INTERRUPT: &str = "interrupt";
pub const CANCEL_OR_QUIT: &str = "interrupt/quit";
pub const QUIT: &str = "quit";
pub const HELP: &str = "help";
pub const SCROLL: &str = "scroll";
pub const SEARCH: &str = "search";
pub const MATCH: &str = "match";
pub const THINKING: &str = "thinking";
pub const TRANSFER: &str = "transfer";
pub const YES: &str = "yes";
pub const NO: &str = "no";
pub const SELECT: &str = "select";
pub const EXPAND: &str = "expand";
pub const CLEAR_SEARCH: &str = "clear search";
pub const CLEAR: &str = "clear";
pub const TWICE_QUITS: &str = "twice quits";
pub const CLOSE: &str = "close";
pub const PAGE: &str = "page";
pub const CANCEL: &str = "cancel";
