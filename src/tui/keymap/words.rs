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
pub const CHOOSE: &str = "choose";
pub const PICK: &str = "pick";
pub const EDIT: &str = "edit";
pub const REQUEST: &str = "request";
pub const CLOSE: &str = "close";
pub const BACK: &str = "back";
pub const OPEN: &str = "open";
