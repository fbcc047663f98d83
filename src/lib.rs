//! tether: supervise AI agents that run somewhere else.
//!
//! The layers are crates of their own (`crates/`), so that none imports
//! upward: `protocol` (wire types) <- `host` (sessions, agents, journal,
//! server) and `client` (connection, resume, lobby) <- `tui` (the terminal
//! UI) <- the `tether` binary (CLI wiring). This facade names them as the
//! binary, the tests and the benches use them.

pub use tether_broker as broker;
pub use tether_client as client;
pub use tether_host as host;
pub use tether_protocol as protocol;
pub use tether_tui as tui;

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
