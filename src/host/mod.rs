//! The session host: runs one agent and serves it over WebSocket.

pub mod session;
