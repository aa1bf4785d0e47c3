//! Structured logs. Fields carry the request id, tenant and channel; message bodies, addresses
//! and secrets are never logged (the pipeline logs ids and labels only).

use tracing_subscriber::EnvFilter;

/// JSON logs, one object per line, for Lambda and CloudWatch Logs Insights. `RUST_LOG` filters.
pub fn init_json_logs() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}
