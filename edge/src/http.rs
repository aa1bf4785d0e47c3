//! Calls to providers' and helpdesks' HTTP APIs, with one retry policy: 429 waits for
//! `Retry-After` (when short), 5xx and transport errors retry with backoff, other refusals are
//! final. What is still failing after the attempts tells the caller how to retry later.

use std::time::Duration;
use switchboard_core::ports::PortError;

/// Tries per API call.
const ATTEMPTS: u32 = 3;
/// Longest `Retry-After` honoured inside one invocation; a longer wait is returned as
/// [`PortError::RateLimited`], so the queue can bring the job back when the wait is over.
const MAX_WAIT: Duration = Duration::from_secs(5);
/// First pause between attempts; doubles after each.
const FIRST_PAUSE: Duration = Duration::from_millis(200);

/// How long one request to a provider or a helpdesk may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

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
        Self::with_timeout(DEFAULT_TIMEOUT)
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
        self.send(port, true, build).await
    }

    /// The same for a create the API cannot de-duplicate: after a 5xx or a timeout the request
    /// may have been carried out, so it is not repeated here; the caller's next attempt looks for
    /// what it made first. A 429 (surely not carried out) is still waited for.
    pub async fn call_at_most_once(
        &self,
        port: &'static str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, PortError> {
        self.send(port, false, build).await
    }

    async fn send(
        &self,
        port: &'static str,
        repeat_unsure: bool,
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
                    if last || !repeat_unsure {
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
                    // A refused connection surely sent nothing; anything else may have.
                    if last || (!repeat_unsure && !e.is_connect()) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A loopback server answering every request with `status` (after `delay`), counting them.
    async fn server(status: u16, delay: Duration) -> (String, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, [("retry-after", "0")], "")
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, hits)
    }

    #[tokio::test]
    async fn unsure_failures_are_repeated_only_when_the_call_allows_it() {
        let http = HttpClient::with_timeout(Duration::from_millis(300));
        let (url, hits) = server(503, Duration::ZERO).await;
        assert_eq!(
            switchboard_engine::pipeline::Verdict::of(&http.call("t", |h| h.post(&url)).await.unwrap_err()),
            switchboard_engine::pipeline::Verdict::Retry
        );
        assert_eq!(hits.load(Ordering::SeqCst), ATTEMPTS as usize, "5xx retried");
        hits.store(0, Ordering::SeqCst);
        assert_eq!(
            switchboard_engine::pipeline::Verdict::of(
                &http.call_at_most_once("t", |h| h.post(&url)).await.unwrap_err()
            ),
            switchboard_engine::pipeline::Verdict::Retry
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1, "a 5xx create may have happened: not repeated");

        let (url, hits) = server(200, Duration::from_secs(1)).await;
        let err = http.call_at_most_once("t", |h| h.post(&url)).await.unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "a timed-out create is not repeated");

        let (url, hits) = server(429, Duration::ZERO).await;
        assert!(matches!(http.call_at_most_once("t", |h| h.post(&url)).await, Err(PortError::RateLimited { .. })));
        assert_eq!(hits.load(Ordering::SeqCst), ATTEMPTS as usize, "a 429 surely did nothing: waited and repeated");

        let (url, _) = server(400, Duration::ZERO).await;
        assert!(matches!(http.call("t", |h| h.post(&url)).await, Err(PortError::Rejected { .. })));
    }
}
