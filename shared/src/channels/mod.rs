//! One module per channel: verify the provider's proof, parse its payload, normalise it into an
//! [`InboundMessage`](crate::domain::InboundMessage).

pub mod webchat;
