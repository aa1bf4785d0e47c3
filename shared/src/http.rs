//! Calls to providers' and helpdesks' HTTP APIs, with one retry policy: 429 waits for
//! `Retry-After` (when short), 5xx and transport errors retry with backoff, other refusals are
//! final. What is still failing after the attempts tells the caller how to retry later.

use crate::ports::PortError;
use std::time::Duration;

/// Tries per API call.
const ATTEMPTS: u32 = 3;
/// Longest `Retry-After` honoured inside one invocation; a longer wait is returned as
/// [`PortError::RateLimited`], so the queue can bring the job back when the wait is over.
const MAX_WAIT: Duration = Duration::from_secs(5);
/// First pause between attempts; doubles after each.
const FIRST_PAUSE: Duration = Duration::from_millis(200);

/// An HTTP client with a per-request timeout, built once per cold start.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    /// A client whose requests give up after 10 seconds.
    pub fn new() -> Self {
        Self::with_timeout(Duration::from_secs(10))
    }

    /// A client whose requests give up after `timeout`.
    pub fn with_timeout(timeout: Duration) -> Self {
        let client = reqwest::Client::builder().timeout(timeout).build().unwrap_or_else(|_| reqwest::Client::new());
        Self { client }
    }

    /// The underlying client, to build requests.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes, retrying as the module says; `Ok` on 2xx.
    pub async fn call(
        &self,
        port: &'static str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, PortError> {
        let mut pause = FIRST_PAUSE;
        for attempt in 1..=ATTEMPTS {
            let last = attempt == ATTEMPTS;
            match build(&self.client).send().await {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) if r.status().as_u16() == 429 => {
                    let wait = retry_after(&r).unwrap_or(pause);
                    if last || wait > MAX_WAIT {
                        return Err(PortError::RateLimited { port, retry_after: wait });
                    }
                    tracing::warn!(port, wait_ms = wait.as_millis() as u64, "rate limited; waiting");
                    tokio::time::sleep(wait).await;
                }
                Ok(r) if r.status().is_server_error() => {
                    if last {
                        return Err(PortError::Unavailable { port, detail: format!("HTTP {}", r.status().as_u16()) });
                    }
                    tracing::warn!(port, status = r.status().as_u16(), "server error; retrying");
                    tokio::time::sleep(pause).await;
                }
                Ok(r) => {
                    return Err(PortError::Rejected {
                        port,
                        detail: format!("refused with HTTP {}", r.status().as_u16()),
                    });
                }
                Err(e) => {
                    let detail = if e.is_timeout() { "timed out" } else { "could not connect" };
                    if last {
                        return Err(PortError::Unavailable { port, detail: detail.into() });
                    }
                    tracing::warn!(port, detail, "request failed; retrying");
                    tokio::time::sleep(pause).await;
                }
            }
            pause *= 2;
        }
        Err(PortError::Unavailable { port, detail: "out of attempts".into() })
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}
