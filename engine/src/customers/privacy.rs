//! A customer's rights over their data (GDPR articles 15 and 17, CCPA's right to know and to
//! delete), served for the business: everything held about one customer as one JSON document,
//! and its erasure — profile, orders, identity links, conversations with their turns, and the
//! conversation ids in cost records, which could link the remaining spend back to the person.
//!
//! Erasure runs in an order that makes a retry safe: the conversation links are removed last,
//! so an erasure interrupted half-way is finished by running it again.

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use switchboard_core::domain::{Conversation, ConversationId, Customer, CustomerId, TenantId, Turn};
use switchboard_core::ledger::Month;
use switchboard_core::ports::{ConversationStore, CostLedger, CustomerStore, PortError};

/// Turns read per conversation for an export (more than any conversation holds in its
/// retention).
const TURNS_EXPORTED: usize = 10_000;

/// Everything held about one customer.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerExport {
    /// The tenant holding it.
    pub tenant: TenantId,
    /// When it was made.
    pub exported_at: DateTime<Utc>,
    /// The profile with its orders (newest first).
    pub profile: Customer,
    /// The channel identities that find this profile (`phone:+…`, `email:…`).
    pub identities: Vec<String>,
    /// Their conversations, each with every turn kept.
    pub conversations: Vec<ConversationExport>,
}

/// One conversation in an export.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationExport {
    /// The conversation.
    pub conversation: Conversation,
    /// Its turns, in the order written.
    pub turns: Vec<Turn>,
}

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// Whether a profile was held.
    pub profile: bool,
    /// Conversations deleted with their turns.
    pub conversations: usize,
    /// Cost records whose conversation id was removed (their amounts stay: the business's
    /// spend is not personal data, and the month's totals must still add up).
    pub cost_records: usize,
}

/// The stores an export or erasure reads and changes.
#[derive(Clone, Copy)]
pub struct Held<'a> {
    /// Profiles, orders, links.
    pub customers: &'a dyn CustomerStore,
    /// Conversations and turns.
    pub conversations: &'a dyn ConversationStore,
    /// Cost records.
    pub ledger: &'a dyn CostLedger,
}

impl Held<'_> {
    /// Everything held about `id`, or `None` when there is no such customer.
    pub async fn export(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerExport>, PortError> {
        let Some(profile) = self.customers.customer(tenant, id).await? else { return Ok(None) };
        let mut identities = Vec::new();
        for identity in profile.identities() {
            if self.customers.customer_for(tenant, &identity).await?.as_ref() == Some(id) {
                identities.push(identity);
            }
        }
        let mut conversations = Vec::new();
        for conversation in self.customers.conversations_of(tenant, id).await? {
            let Some(found) = self.conversations.conversation(tenant, &conversation).await? else { continue };
            let turns = self.conversations.turns_after(tenant, &conversation, None, TURNS_EXPORTED).await?;
            conversations.push(ConversationExport { conversation: found, turns });
        }
        Ok(Some(CustomerExport { tenant: tenant.clone(), exported_at: now, profile, identities, conversations }))
    }

    /// Erases everything held about `id`. Idempotent: erasing again finds nothing and says so.
    pub async fn erase(&self, tenant: &TenantId, id: &CustomerId, now: DateTime<Utc>) -> Result<Erasure, PortError> {
        let mut erasure = Erasure::default();
        let linked = self.customers.conversations_of(tenant, id).await?;
        let mut found = Vec::new();
        for conversation in &linked {
            if let Some(c) = self.conversations.conversation(tenant, conversation).await? {
                found.push(c);
            }
        }
        if let Some(oldest) = found.iter().map(|c| c.started_at).min() {
            erasure.cost_records = self.forget_in_ledger(tenant, &linked, oldest, now).await?;
        }
        for conversation in &found {
            self.conversations.delete_conversation(tenant, &conversation.id).await?;
            erasure.conversations += 1;
        }
        erasure.profile = self.customers.erase_customer(tenant, id).await?;
        Ok(erasure)
    }

    /// Removes `conversations` from the tenant's cost records of every month since `since`.
    async fn forget_in_ledger(
        &self,
        tenant: &TenantId,
        conversations: &[ConversationId],
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<usize, PortError> {
        let mut scrubbed = 0;
        for month in months(since, now) {
            for mut record in self.ledger.records(tenant, month, usize::MAX).await? {
                if record.conversation.as_ref().is_some_and(|c| conversations.contains(c)) {
                    record.conversation = None;
                    // The same key and amounts: the record is replaced, the day's totals unmoved.
                    self.ledger.record(&record).await?;
                    scrubbed += 1;
                }
            }
        }
        Ok(scrubbed)
    }
}

/// Every month from `since`'s to `now`'s, oldest first.
fn months(since: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Month> {
    let (mut year, mut month) = (since.year(), since.month());
    let last = Month::of(now);
    let mut out = Vec::new();
    while let Some(m) = Month::parse(&format!("{year:04}-{month:02}")) {
        if m > last {
            break;
        }
        out.push(m);
        (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn months_run_from_the_first_to_now_across_a_year_end() {
        let at = |y, m| Utc.with_ymd_and_hms(y, m, 15, 0, 0, 0).unwrap();
        let got: Vec<Month> = months(at(2025, 11), at(2026, 2));
        let want: Vec<Month> =
            ["2025-11", "2025-12", "2026-01", "2026-02"].iter().filter_map(|m| Month::parse(m)).collect();
        assert_eq!(got, want);
        assert_eq!(months(at(2026, 2), at(2026, 2)).len(), 1);
    }
}
