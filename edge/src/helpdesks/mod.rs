//! Helpdesks: where escalations become tickets (Zendesk, Freshdesk, HubSpot, a Slack channel, a
//! Slack incoming webhook, a generic signed webhook), and where agents' replies come back from
//! ([`callbacks`]). [`HelpdeskRouter`] picks the tenant's helpdesk for each job.
//!
//! Every adapter opens tickets idempotently: before creating, it looks for the ticket a
//! previous attempt of the same escalation may have opened (the attempt may have timed out after
//! the helpdesk created it), by a key only that escalation carries.

pub mod callbacks;
mod freshdesk;
mod hubspot;
mod slack;
mod ticket;
pub mod webhook;
mod zendesk;

pub use ticket::TicketText;

use crate::http::HttpClient;
use async_trait::async_trait;
use std::sync::Arc;
use switchboard_core::domain::{Escalation, TenantId, TicketComment, TicketRef};
use switchboard_core::ports::{Helpdesk, PortError};
use switchboard_engine::memory::ConsoleHelpdesk;
use switchboard_engine::tenant::TenantDirectory;
use switchboard_engine::tenant::{HelpdeskConfig, Tenant};

/// Opens tickets in whichever helpdesk the escalation's tenant uses, with its credentials.
pub struct HelpdeskRouter {
    tenants: Arc<dyn TenantDirectory>,
    http: HttpClient,
    console: Arc<ConsoleHelpdesk>,
}

impl HelpdeskRouter {
    /// A router reading helpdesk settings from `tenants`; tenants on the console helpdesk go to
    /// `console`.
    pub fn new(tenants: Arc<dyn TenantDirectory>, console: Arc<ConsoleHelpdesk>) -> Self {
        Self::with_http(tenants, console, HttpClient::new())
    }

    /// The same, calling helpdesks through `http` (tests shorten its timeout).
    pub fn with_http(tenants: Arc<dyn TenantDirectory>, console: Arc<ConsoleHelpdesk>, http: HttpClient) -> Self {
        Self { tenants, http, console }
    }

    async fn tenant(&self, id: &TenantId) -> Result<Arc<Tenant>, PortError> {
        self.tenants
            .tenant(id)
            .await?
            .ok_or_else(|| PortError::Rejected { port: "helpdesk", detail: format!("unknown tenant {id}") })
    }
}

#[async_trait]
impl Helpdesk for HelpdeskRouter {
    async fn open_ticket(&self, escalation: &Escalation) -> Result<TicketRef, PortError> {
        let tenant = self.tenant(&escalation.tenant).await?;
        let text = TicketText::of(escalation, &tenant.config.handoff.share);
        match &tenant.config.helpdesk {
            HelpdeskConfig::Console => self.console.open_ticket(escalation).await,
            HelpdeskConfig::Zendesk(c) => zendesk::open(&self.http, c, escalation, &text).await,
            HelpdeskConfig::Freshdesk(c) => freshdesk::open(&self.http, c, escalation, &text).await,
            HelpdeskConfig::Hubspot(c) => hubspot::open(&self.http, c, escalation, &text).await,
            HelpdeskConfig::Slack(c) => slack::open(&self.http, c, escalation, &text).await,
            HelpdeskConfig::SlackWebhook(c) => webhook::slack_open(&self.http, c, escalation, &text).await,
            HelpdeskConfig::Webhook(c) => webhook::open(&self.http, c, escalation, &text).await,
        }
    }

    async fn add_comment(&self, comment: &TicketComment) -> Result<(), PortError> {
        let tenant = self.tenant(&comment.tenant).await?;
        let ticket = comment
            .ticket
            .as_ref()
            .ok_or_else(|| PortError::Rejected { port: "helpdesk", detail: "comment without a ticket".into() })?;
        match &tenant.config.helpdesk {
            HelpdeskConfig::Console => self.console.add_comment(comment).await,
            HelpdeskConfig::Zendesk(c) => zendesk::comment(&self.http, c, ticket, comment).await,
            HelpdeskConfig::Freshdesk(c) => freshdesk::comment(&self.http, c, ticket, comment).await,
            HelpdeskConfig::Hubspot(c) => hubspot::comment(&self.http, c, ticket, comment).await,
            HelpdeskConfig::Slack(c) => slack::comment(&self.http, c, ticket, comment).await,
            HelpdeskConfig::SlackWebhook(c) => webhook::slack_comment(&self.http, c, ticket, comment).await,
            HelpdeskConfig::Webhook(c) => webhook::comment(&self.http, c, ticket, comment).await,
        }
    }
}

/// A secret's value as text, for an auth header.
fn secret_text(secret: &switchboard_engine::tenant::Secret) -> String {
    String::from_utf8_lossy(secret.expose()).into_owned()
}

/// The key only this escalation carries, for finding its ticket again.
fn escalation_key(escalation: &Escalation) -> String {
    format!("switchboard-{}-{}", escalation.tenant, escalation.id)
}

/// A short form of the key, for helpdesks that limit tag length.
fn short_key(escalation: &Escalation) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(escalation_key(escalation).as_bytes());
    format!("sb-{}", hex::encode(&digest[..8]))
}
