//! Customer profiles, their orders and the identities that find them.
//!
//! One partition per customer, `T#{tenant}#C#{id}`: the profile (`PROFILE`, orders left out) and
//! one item per order (`ORDER#{number}`). A shop webhook changes one order, so it writes one small
//! item instead of rewriting the profile, and no customer's order history can outgrow
//! DynamoDB's 400 KB item limit; the responder still reads profile and orders with one query.
//! Identity links (`T#{tenant}#I#{identity}` / `IDENTITY`) point a phone or e-mail at a customer;
//! `CONV#{conversation}` items in the customer's partition list their conversations.
//! Profiles, orders and links carry the tenant's profile retention as their `ttl` when it sets
//! one; reads skip an expired item before the TTL deletes it.

use super::*;
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
use switchboard_core::domain::Order;
use switchboard_core::ports::{ORDERS_READ, refresh_due};

/// Customer profiles in the table.
#[derive(Debug, Clone)]
pub struct DynamoCustomers {
    table: Table,
}

impl DynamoCustomers {
    /// Profiles in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The profile item of `customer` (its orders are items of their own).
    fn profile_item(tenant: &TenantId, customer: &Customer, keep: KeepUntil) -> Result<Item, PortError> {
        let profile = Customer { orders: vec![], ..customer.clone() };
        let item = Item::from([
            ("pk".to_string(), s(partition::customer(tenant, &customer.id))),
            ("sk".to_string(), s(PROFILE)),
            ("data".to_string(), s(to_json(CUSTOMERS, &profile)?)),
        ]);
        Ok(with_keep(item, keep))
    }

    fn order_item(tenant: &TenantId, id: &CustomerId, order: &Order, keep: KeepUntil) -> Result<Item, PortError> {
        let item = Item::from([
            ("pk".to_string(), s(partition::customer(tenant, id))),
            ("sk".to_string(), s(format!("{ORDER_PREFIX}{}", order.id))),
            ("data".to_string(), s(to_json(CUSTOMERS, order)?)),
        ]);
        Ok(with_keep(item, keep))
    }

    fn link_item(tenant: &TenantId, identity: &str, id: &CustomerId, keep: KeepUntil) -> Item {
        let item = Item::from([
            ("pk".to_string(), s(partition::identity(tenant, identity))),
            ("sk".to_string(), s("IDENTITY")),
            ("customer".to_string(), s(id.as_str())),
        ]);
        with_keep(item, keep)
    }

    /// The items one profile put writes: the profile, its orders and its identity links.
    fn items_of(tenant: &TenantId, customer: &Customer, keep: KeepUntil) -> Result<Vec<Item>, PortError> {
        let mut items = vec![Self::profile_item(tenant, customer, keep)?];
        for order in &customer.orders {
            items.push(Self::order_item(tenant, &customer.id, order, keep)?);
        }
        items.extend(customer.identities().iter().map(|i| Self::link_item(tenant, i, &customer.id, keep)));
        Ok(items)
    }

    /// Removes the links `before` listed and `now` does not, unless another customer has taken
    /// them since (the condition makes that race safe).
    async fn unlink(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        before: &[String],
        now: &[String],
    ) -> Result<(), PortError> {
        for dropped in before.iter().filter(|i| !now.contains(i)) {
            let out = self
                .table
                .client
                .delete_item()
                .table_name(&self.table.name)
                .key("pk", s(partition::identity(tenant, dropped)))
                .key("sk", s("IDENTITY"))
                .condition_expression("customer = :me")
                .expression_attribute_values(":me", s(id.as_str()))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            conditional_write(CUSTOMERS, out, Ok(()))?;
        }
        Ok(())
    }

    /// The unexpired profile of `id` with its newest unexpired orders, and the orders its profile
    /// item still carries inline (stored before orders had items of their own; an order item of
    /// the same number is newer).
    async fn load(&self, tenant: &TenantId, id: &CustomerId) -> Result<Option<(Customer, Vec<Order>)>, PortError> {
        // Backwards, `PROFILE` sorts before `ORDER#…`: the profile, then the highest order numbers.
        let items =
            self.table.query(CUSTOMERS, partition::customer(tenant, id), SortKey::Any, false, 1 + ORDERS_READ).await?;
        let Some(profile) = items.iter().find(|i| text(i, "sk") == Some(PROFILE)).filter(|i| !expired(i)) else {
            return Ok(None);
        };
        let mut customer: Customer = json(CUSTOMERS, profile, "data")?;
        let inline = customer.orders.clone();
        let orders = items.iter().filter(|i| text(i, "sk").is_some_and(|sk| sk.starts_with(ORDER_PREFIX)));
        for item in orders.filter(|i| !expired(i)) {
            customer.upsert_order(json(CUSTOMERS, item, "data")?);
        }
        customer.sort_orders();
        customer.orders.truncate(ORDERS_READ);
        Ok(Some((customer, inline)))
    }

    /// The stored profiles (orders left out) of `ids` and until when each is kept, by customer
    /// id (one batched read), expired ones included.
    async fn stored_profiles(
        &self,
        tenant: &TenantId,
        ids: &[&CustomerId],
    ) -> Result<HashMap<String, (Customer, KeepUntil)>, PortError> {
        let keys = ids.iter().map(|id| (partition::customer(tenant, id), PROFILE.to_string())).collect();
        let mut found = HashMap::new();
        for item in self.table.get_all(CUSTOMERS, keys).await? {
            let profile: Customer = json(CUSTOMERS, &item, "data")?;
            found.insert(profile.id.as_str().to_string(), (profile, kept_until(&item)));
        }
        Ok(found)
    }
}

const CUSTOMERS: &str = "customer store";
const PROFILE: &str = "PROFILE";
const ORDER_PREFIX: &str = "ORDER#";
/// A link to one of the customer's conversations (`CONV#{id}`), for export and erasure.
const CONVERSATION_PREFIX: &str = "CONV#";

#[async_trait]
impl CustomerStore for DynamoCustomers {
    async fn customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Option<Customer>, PortError> {
        Ok(self.load(tenant, id).await?.map(|(customer, _)| customer))
    }

    async fn put_customer(&self, tenant: &TenantId, customer: &Customer, keep: KeepUntil) -> Result<(), PortError> {
        let before = self.load(tenant, &customer.id).await?;
        let mut items = Self::items_of(tenant, customer, keep)?;
        // A profile from before orders had items of their own: its orders move out of it.
        for order in
            before.iter().flat_map(|(_, inline)| inline).filter(|o| !customer.orders.iter().any(|c| c.id == o.id))
        {
            items.push(Self::order_item(tenant, &customer.id, order, keep)?);
        }
        for item in items {
            self.table.put(CUSTOMERS, item).await?;
        }
        let before = before.map(|(c, _)| c.identities()).unwrap_or_default();
        self.unlink(tenant, &customer.id, &before, &customer.identities()).await
    }

    async fn put_customers(&self, tenant: &TenantId, customers: &[Customer], keep: KeepUntil) -> Result<(), PortError> {
        let ids: Vec<&CustomerId> = customers.iter().map(|c| &c.id).collect();
        let before = self.stored_profiles(tenant, &ids).await?;
        let now = Utc::now();
        let mut items = Vec::new();
        for customer in customers {
            // Re-importing an unchanged file costs its reads only: a profile stored exactly so,
            // with no orders to add and an expiry that need not move yet, is not written again
            // (its links were written with it).
            let stored = before.get(customer.id.as_str());
            let unchanged = customer.orders.is_empty()
                && stored.is_some_and(|(profile, kept)| {
                    *profile == Customer { orders: vec![], ..customer.clone() } && !refresh_due(*kept, keep, now)
                });
            if !unchanged {
                items.extend(Self::items_of(tenant, customer, keep)?);
            }
        }
        self.table.put_all(CUSTOMERS, items).await?;
        for customer in customers {
            let Some((stored, _)) = before.get(customer.id.as_str()) else { continue };
            self.unlink(tenant, &customer.id, &stored.identities(), &customer.identities()).await?;
        }
        Ok(())
    }

    async fn put_order(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        order: &Order,
        keep: KeepUntil,
    ) -> Result<(), PortError> {
        // One transaction with a check that the profile exists, unexpired: an order arriving
        // while the customer is erased must not leave their data behind.
        let pk = partition::customer(tenant, id);
        let check = ConditionCheck::builder()
            .table_name(&self.table.name)
            .key("pk", s(pk.clone()))
            .key("sk", s(PROFILE))
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(#ttl) OR #ttl > :now)")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(Utc::now().timestamp()))
            .build()
            .map_err(|e| corrupt(CUSTOMERS, e))?;
        let put = Put::builder()
            .table_name(&self.table.name)
            .set_item(Some(Self::order_item(tenant, id, order, keep)?))
            .build()
            .map_err(|e| corrupt(CUSTOMERS, e))?;
        let out = self
            .table
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(out) => {
                for c in out.consumed_capacity() {
                    meter(Some(c), true);
                }
                Ok(())
            }
            Err(e) if transaction_condition_failed(&e) => {
                refused_write();
                Err(PortError::Rejected { port: CUSTOMERS, detail: "no such customer".into() })
            }
            Err(e) => Err(unavailable(CUSTOMERS, e)),
        }
    }

    async fn erase_customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<bool, PortError> {
        let pk = partition::customer(tenant, id);
        let items = self.table.query(CUSTOMERS, pk.clone(), SortKey::Any, true, usize::MAX).await?;
        let mut identities = Vec::new();
        for item in &items {
            let Some(sk) = text(item, "sk") else { continue };
            if sk == PROFILE {
                identities = json::<Customer>(CUSTOMERS, item, "data")?.identities();
            }
            self.table.delete(CUSTOMERS, pk.clone(), sk).await?;
        }
        self.unlink(tenant, id, &identities, &[]).await?;
        Ok(!items.is_empty())
    }

    async fn customer_for(&self, tenant: &TenantId, identity: &str) -> Result<Option<CustomerId>, PortError> {
        let item = self.table.get(CUSTOMERS, partition::identity(tenant, identity), "IDENTITY").await?;
        item.filter(|i| !expired(i))
            .and_then(|i| text(&i, "customer").map(CustomerId::new))
            .transpose()
            .map_err(|e| corrupt(CUSTOMERS, e))
    }

    async fn link_conversation(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        conversation: &ConversationId,
    ) -> Result<(), PortError> {
        let item = Item::from([
            ("pk".to_string(), s(partition::customer(tenant, id))),
            ("sk".to_string(), s(format!("{CONVERSATION_PREFIX}{conversation}"))),
        ]);
        self.table.put(CUSTOMERS, item).await
    }

    async fn conversations_of(&self, tenant: &TenantId, id: &CustomerId) -> Result<Vec<ConversationId>, PortError> {
        let prefix = SortKey::Prefix(CONVERSATION_PREFIX.to_string());
        let items = self.table.query(CUSTOMERS, partition::customer(tenant, id), prefix, true, usize::MAX).await?;
        items
            .iter()
            .filter_map(|i| text(i, "sk")?.strip_prefix(CONVERSATION_PREFIX).map(ConversationId::new))
            .collect::<Result<_, _>>()
            .map_err(|e| corrupt(CUSTOMERS, e))
    }
}

/// Whether a transaction was cancelled because a condition did not hold.
fn transaction_condition_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    e: &aws_sdk_dynamodb::error::SdkError<E>,
) -> bool {
    let Some(service) = e.as_service_error() else { return false };
    service.code() == Some("TransactionCanceledException")
        && service.message().is_some_and(|m| m.contains("ConditionalCheckFailed"))
}
