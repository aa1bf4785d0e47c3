//! What a tenant's file may point at. A tenant file may be written by a business (an agency's
//! customer), not by ops: it must not name another tenant's secrets, or the deployment key, and
//! must not send a token it holds to a host of its choosing. So every SSM reference of tenant `t`
//! lies under `/switchboard/t/`, and every provider API base is https on that provider's own
//! hosts, unless the deployment's operator allows another origin (`SWITCHBOARD_ALLOWED_ENDPOINTS`;
//! tests allow their loopback stand-ins). Checked before any secret is read.

use super::{HelpdeskConfig, Problem, TenantConfig};

/// Each provider's API hosts: exact names, or `*.` and a domain for a tenant's own subdomain.
const TWILIO: &[&str] = &["api.twilio.com"];
const TELEGRAM: &[&str] = &["api.telegram.org"];
const SLACK: &[&str] = &["slack.com"];
const META: &[&str] = &["graph.facebook.com"];
const POSTMARK: &[&str] = &["api.postmarkapp.com"];
const ZENDESK: &[&str] = &["*.zendesk.com"];
const FRESHDESK: &[&str] = &["*.freshdesk.com"];
const HUBSPOT: &[&str] = &["api.hubapi.com"];
const SHOPIFY: &[&str] = &["*.myshopify.com"];

impl TenantConfig {
    /// Every SSM reference outside the tenant's own prefix and every API base off its provider's
    /// hosts (unless `allowed` lists its origin, as web chat `allowed_origins` are written),
    /// each naming its field.
    pub fn reference_problems(&self, allowed: &[String]) -> Vec<Problem> {
        let mut problems = Vec::new();
        let prefix = format!("/switchboard/{}/", self.id);
        for (field, secret) in self.clone().secrets_mut() {
            if let Some(name) = secret.parameter()
                && !(name.starts_with(&prefix) && name.len() > prefix.len() && !name.contains(".."))
            {
                problems.push(Problem {
                    field: field.to_string(),
                    message: format!("SSM parameter {name} is not under {prefix}: a tenant reads only its own secrets"),
                });
            }
        }
        for (field, url, hosts) in self.api_bases() {
            if let Err(why) = check_api_base(url, hosts, allowed) {
                problems.push(Problem { field: field.to_string(), message: why });
            }
        }
        if let Some(url) = self.data.lookups.orders.as_ref().and_then(|o| o.url.as_deref())
            && let Err(why) = check_business_url(url, allowed)
        {
            problems.push(Problem { field: "data.lookups.orders.url".into(), message: why });
        }
        problems
    }

    /// Every provider API base in the file, with its field and its provider's hosts.
    fn api_bases(&self) -> Vec<(&'static str, &str, &'static [&'static str])> {
        let c = &self.channels;
        let mut out = Vec::new();
        if let Some(t) = &c.twilio {
            out.push(("channels.twilio.api_base", t.api_base.as_str(), TWILIO));
        }
        if let Some(t) = &c.telegram {
            out.push(("channels.telegram.api_base", t.api_base.as_str(), TELEGRAM));
        }
        if let Some(s) = &c.slack {
            out.push(("channels.slack.api_base", s.api_base.as_str(), SLACK));
        }
        if let Some(w) = &c.whatsapp {
            out.push(("channels.whatsapp.api_base", w.api_base.as_str(), META));
        }
        if let Some(base) = self.data.lookups.orders.as_ref().and_then(|o| o.shopify_api_base.as_deref()) {
            out.push(("data.lookups.orders.shopify_api_base", base, SHOPIFY));
        }
        if let Some(e) = &c.email {
            out.push(("channels.email.api_base", e.api_base.as_str(), POSTMARK));
        }
        match &self.helpdesk {
            HelpdeskConfig::Zendesk(z) => out.push(("helpdesk.api_base", z.api_base.as_str(), ZENDESK)),
            HelpdeskConfig::Freshdesk(f) => out.push(("helpdesk.api_base", f.api_base.as_str(), FRESHDESK)),
            HelpdeskConfig::Hubspot(h) => out.push(("helpdesk.api_base", h.api_base.as_str(), HUBSPOT)),
            HelpdeskConfig::Slack(s) => out.push(("helpdesk.api_base", s.api_base.as_str(), SLACK)),
            // The business's own endpoint, carrying only its own secret and its own tickets.
            HelpdeskConfig::Webhook(_) | HelpdeskConfig::SlackWebhook(_) | HelpdeskConfig::Console => {}
        }
        out
    }
}

/// `url` is https on one of `hosts` (default port, no credentials), or its origin is `allowed`.
/// A business's own endpoint, which the deployment calls with the tenant's secret: plain https
/// on a public name — never an address literal, `localhost` or an internal name, which would
/// let a tenant's file make the deployment call into its own network — unless the operator
/// allows the origin.
fn check_business_url(url: &str, allowed: &[String]) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url} is not a URL: {e}"))?;
    let origin = parsed.origin().ascii_serialization();
    if allowed.iter().any(|pattern| super::origin_matches(pattern, &origin)) {
        return Ok(());
    }
    let named = matches!(parsed.host(), Some(url::Host::Domain(_)));
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let internal = host == "localhost"
        || [".localhost", ".local", ".internal", ".lan", ".home.arpa"].iter().any(|s| host.ends_with(s))
        || !host.contains('.');
    let plain = parsed.scheme() == "https" && parsed.username().is_empty() && parsed.password().is_none();
    if named && !internal && plain {
        return Ok(());
    }
    Err(format!("{origin} is not a public https endpoint; the operator may allow it in SWITCHBOARD_ALLOWED_ENDPOINTS"))
}

fn check_api_base(url: &str, hosts: &[&str], allowed: &[String]) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url} is not a URL: {e}"))?;
    let origin = parsed.origin().ascii_serialization();
    if allowed.iter().any(|pattern| super::origin_matches(pattern, &origin)) {
        return Ok(());
    }
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let on_provider = hosts.iter().any(|h| match h.strip_prefix("*.") {
        Some(domain) => host.strip_suffix(domain).is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
        None => host == *h,
    });
    let plain = parsed.scheme() == "https" && parsed.port().is_none() && parsed.username().is_empty();
    if on_provider && plain && parsed.password().is_none() {
        return Ok(());
    }
    Err(format!(
        "{origin} is not this provider's API ({}, https); the operator may allow it in SWITCHBOARD_ALLOWED_ENDPOINTS",
        hosts.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> TenantConfig {
        TenantConfig::from_yaml("demo", crate::config::DEMO_TENANT_YAML).unwrap()
    }

    /// A lookup URL is the business's own, but the deployment calls it: never an address
    /// literal, `localhost` or an internal name (the metadata service, a VPC neighbour), unless
    /// the operator allows the origin; a Shopify base only on `*.myshopify.com`.
    #[test]
    fn a_lookup_endpoint_is_public_https_on_a_name() {
        let with = |url: &str| {
            let mut config = demo();
            config.data.lookups.orders = Some(crate::config::OrderLookupConfig {
                url: Some(url.into()),
                secret: Some(crate::config::Secret::new("s")),
                shopify_access_token: None,
                shopify_api_base: None,
                intents: vec!["order_status".into()],
                timeout_ms: 800,
                cache_seconds: 60,
            });
            config
        };
        assert!(with("https://erp.acme.example/orders").reference_problems(&[]).is_empty());
        for bad in [
            "http://erp.acme.example/orders",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/orders",
            "https://localhost/orders",
            "https://erp.internal/orders",
            "https://printer/orders",
            "https://user:pass@erp.acme.example/orders",
        ] {
            let problems = with(bad).reference_problems(&[]);
            assert!(problems.iter().any(|p| p.field == "data.lookups.orders.url"), "{bad}: {problems:?}");
        }
        let allowed = ["http://127.0.0.1:*".to_string()];
        assert!(with("http://127.0.0.1:8080/orders").reference_problems(&allowed).is_empty(), "the operator's own");

        let mut shopify = with("https://erp.acme.example/orders");
        if let Some(orders) = shopify.data.lookups.orders.as_mut() {
            orders.shopify_api_base = Some("https://evil.example".into());
        }
        let problems = shopify.reference_problems(&[]);
        assert!(problems.iter().any(|p| p.field == "data.lookups.orders.shopify_api_base"), "{problems:?}");
    }

    /// The reviewer's exfiltration: a tenant file naming another tenant's token, or the
    /// deployment key, and an api_base of the writer's choosing.
    #[test]
    fn a_tenant_names_only_its_own_secrets_and_its_providers_hosts() {
        assert_eq!(demo().reference_problems(&[]), Vec::new(), "the demo file is clean");
        let mut c = demo();
        let twilio = c.channels.twilio.as_mut().unwrap();
        twilio.auth_token = crate::config::Secret::Parameter { ssm: "/switchboard/rival/twilio-auth-token".into() };
        twilio.api_base = "https://collector.evil.example".into();
        let telegram = c.channels.telegram.as_mut().unwrap();
        telegram.bot_token = crate::config::Secret::Parameter { ssm: "/switchboard/deployment-key".into() };
        telegram.api_base = "http://api.telegram.org".into();
        let slack = c.channels.slack.as_mut().unwrap();
        slack.bot_token = crate::config::Secret::Parameter { ssm: "/switchboard/demo/../rival/slack".into() };
        slack.api_base = "https://slack.com.evil.example/api".into();
        let fields: Vec<String> = c.reference_problems(&[]).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "channels.twilio.auth_token",
                "channels.slack.bot_token",
                "channels.telegram.bot_token",
                "channels.twilio.api_base",
                "channels.telegram.api_base",
                "channels.slack.api_base",
            ]
        );
        let mut own = demo();
        own.channels.twilio.as_mut().unwrap().auth_token =
            crate::config::Secret::Parameter { ssm: "/switchboard/demo/twilio-auth-token".into() };
        own.channels.twilio.as_mut().unwrap().api_base = "http://127.0.0.1:8123".into();
        let problems = own.reference_problems(&["http://127.0.0.1:*".to_string()]);
        assert_eq!(problems, Vec::new(), "its own prefix, and an origin the operator allows");
    }

    #[test]
    fn a_tenants_own_helpdesk_subdomain_is_its_providers_host() {
        let hosts = ZENDESK;
        assert!(check_api_base("https://acme.zendesk.com", hosts, &[]).is_ok());
        for bad in [
            "https://zendesk.com",
            "https://acme.zendesk.com.evil.example",
            "https://evilzendesk.com",
            "https://acme.zendesk.com:8443",
            "https://user:pw@acme.zendesk.com",
            "http://acme.zendesk.com",
        ] {
            assert!(check_api_base(bad, hosts, &[]).is_err(), "{bad}");
        }
    }
}
