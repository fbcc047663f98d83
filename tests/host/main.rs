//! Host tests: a real host on loopback, real WebSocket clients.

mod agents;
mod auth;
mod chaos;
mod events;
mod faults;
mod ownership;
mod protocol;
mod roles;
mod serve_binary;
mod support;
