//! Customer profiles and the identities that find them.

use super::*;

/// Customer profiles (`T#{tenant}#C#{id}` / `PROFILE`).
#[derive(Debug, Clone)]
pub struct DynamoCustomers {
    table: Table,
}

impl DynamoCustomers {
    /// Profiles in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

const CUSTOMERS: &str = "customer store";

#[async_trait]
impl CustomerStore for DynamoCustomers {
    async fn customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Option<Customer>, PortError> {
        let item = self.table.get(CUSTOMERS, partition::customer(tenant, id), "PROFILE").await?;
        item.map(|i| json(CUSTOMERS, &i, "data")).transpose()
    }

    async fn put_customer(&self, tenant: &TenantId, customer: &Customer) -> Result<(), PortError> {
        let before = self.customer(tenant, &customer.id).await?;
        let item = Item::from([
            ("pk".to_string(), s(partition::customer(tenant, &customer.id))),
            ("sk".to_string(), s("PROFILE")),
            ("data".to_string(), s(to_json(CUSTOMERS, customer)?)),
        ]);
        self.table.put(CUSTOMERS, item).await?;
        for identity in customer.identities() {
            let link = Item::from([
                ("pk".to_string(), s(partition::identity(tenant, identity))),
                ("sk".to_string(), s("IDENTITY")),
                ("customer".to_string(), s(customer.id.as_str())),
            ]);
            self.table.put(CUSTOMERS, link).await?;
        }
        // Links the profile no longer lists go, unless another customer has taken them since.
        let now = customer.identities();
        for dropped in before.map(|c| c.identities()).unwrap_or_default().into_iter().filter(|i| !now.contains(i)) {
            let out = self
                .table
                .client
                .delete_item()
                .table_name(&self.table.name)
                .key("pk", s(partition::identity(tenant, dropped)))
                .key("sk", s("IDENTITY"))
                .condition_expression("customer = :me")
                .expression_attribute_values(":me", s(customer.id.as_str()))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            conditional_write(CUSTOMERS, out, Ok(()))?;
        }
        Ok(())
    }

    async fn customer_for(&self, tenant: &TenantId, identity: &str) -> Result<Option<CustomerId>, PortError> {
        let item = self.table.get(CUSTOMERS, partition::identity(tenant, identity), "IDENTITY").await?;
        item.and_then(|i| text(&i, "customer").map(CustomerId::new)).transpose().map_err(|e| corrupt(CUSTOMERS, e))
    }
}
