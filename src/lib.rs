//! smtp-workbench: a terminal workbench for stepping through SMTP sessions.
//!
//! Layers, top to bottom (a lower one never imports a higher one):
//! `cli` → `transport` → `proto` and `message`.

pub mod analysis;
pub mod app;
pub mod cli;
pub mod message;
pub mod proto;
pub mod server;
pub mod transcript;
pub mod transport;
pub mod tui;
