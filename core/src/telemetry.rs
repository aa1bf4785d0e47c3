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
        .with_writer(|| CountingStdout)
        .try_init();
}

/// Stdout that counts what each request writes, so log ingestion is part of its cost.
struct CountingStdout;

impl std::io::Write for CountingStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = std::io::stdout().write(buf)?;
        crate::meter::report(|m| m.log_bytes += written as u64);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}
