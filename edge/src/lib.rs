//! Switchboard's edge: where the outside world meets the engine. The channels' webhooks and
//! senders ([`channels`]), the helpdesks ([`helpdesks`]), the web router every route goes
//! through ([`web`]), the one HTTP client ([`http`]), and the whole app on memory adapters in one
//! process ([`embedded`]).

pub mod channels;
pub mod embedded;
pub mod helpdesks;
pub mod http;
pub mod lookups;
pub mod shops;
pub mod web;
