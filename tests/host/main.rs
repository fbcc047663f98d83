//! Host tests: a real host on loopback, real WebSocket clients.

// A test reads top to bottom as one story; the length rule is for code.
#![allow(clippy::too_many_lines)]

mod acp;
mod agents;
mod alerts;
mod approvals;
mod auth;
mod bench;
mod chaos;
mod cutting;
// Each test binary uses part of the shared support.
#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
mod deleted;
mod demo;
mod events;
mod examples;
mod faults;
mod flood;
mod full_disk;
mod headless;
mod history;
mod invites;
mod limits;
mod lobby;
mod ownership;
mod paging;
mod process_tree;
mod protocol;
mod real_agents;
mod relay;
mod relay_beacon;
mod relay_chaos;
mod relay_lobby;
mod relay_outbox;
mod relay_permissions;
mod relay_stream;
mod replay;
mod roles;
mod rules;
mod serve_binary;
mod serve_signals;
mod served;
mod sessions;
mod support;
mod tls;
mod tls_trust;
mod tokens;
mod websocket;
