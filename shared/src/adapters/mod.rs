//! Adapters behind the ports: `memory` is the embedded default (local runs and tests).
pub mod memory;
