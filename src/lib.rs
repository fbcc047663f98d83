//! tether: supervise AI agents that run somewhere else.
//!
//! `protocol` holds the wire types both halves share; `host` runs an agent
//! and serves it over WebSocket. Neither end imports the other: the binary
//! wires them together.

mod bytescan;
pub mod client;
pub mod host;
pub mod protocol;
pub mod tui;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
