//! Host tests: a real host on loopback, real WebSocket clients.

mod agents;
mod approvals;
mod auth;
mod chaos;
mod events;
mod faults;
mod headless;
mod limits;
mod protocol;
mod roles;
mod serve_binary;
mod serve_signals;
mod served;
mod support;
mod tokens;
