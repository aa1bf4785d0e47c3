//! The integration tests, one module per area, linked into one binary: each test binary links
//! the AWS SDK and the whole app, so one binary instead of eight saves most of their build.
//! `logs` (installs the process's log subscriber) and `faults` (stops and restarts DynamoDB
//! Local under everyone's feet) need a process of their own and stay separate binaries.
//!
//! One area: `cargo test -p switchboard-tests --test integration helpdesks::`.

mod aws_contract;
mod aws_end_to_end;
mod bedrock;
mod channels;
mod deployed;
mod helpdesks;
mod isolation;
mod shop_data;
mod template;
mod webchat;
