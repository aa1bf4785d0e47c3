//! Amazon SNS deliveries to an HTTPS endpoint (here: SES receiving → SNS → us). Every message is
//! verified before use: signature version 2 (SHA256withRSA) over the canonical string, with a
//! certificate whose URL is validated (https, `sns.<region>.amazonaws.com`, `.pem`) before it is
//! fetched, and which must chain to a trusted root and be issued for that host. The trust roots
//! and the fetcher are injectable so tests can sign with their own CA.
//!
//! What AWS serves at `SigningCertURL` is the signing certificate alone, issued by one of Amazon's
//! intermediate CAs (e.g. "Amazon RSA 2048 M02"), which chains to Amazon Root CA 1 in the web PKI
//! roots. The intermediate is not in the file; the certificate's Authority Information Access
//! names where it is (`http://crt.<ca>.amazontrust.com/<ca>.cer`, DER). So the chain is built from
//! any intermediates the PEM does hold, else from that issuer, fetched only from Amazon's trust
//! host. Fetching it over plain HTTP is safe: it is trusted only if its own signature chains to a
//! root. (AWS's own SDK validators check only the URL and names; this checks the chain too.)

use super::ChannelError;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use serde::Deserialize;
use std::sync::{Arc, Mutex};

/// An SNS message as delivered over HTTP(S).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    /// `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// SNS's message id.
    pub message_id: String,
    /// The topic.
    pub topic_arn: String,
    /// Optional subject (notifications).
    #[serde(default)]
    pub subject: Option<String>,
    /// The payload.
    pub message: String,
    /// When SNS published it.
    pub timestamp: String,
    /// `1` (SHA1) or `2` (SHA256); we accept only `2`.
    pub signature_version: String,
    /// Base64 signature.
    pub signature: String,
    /// Where the signing certificate is.
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    /// To confirm a subscription.
    #[serde(rename = "SubscribeURL", default)]
    pub subscribe_url: Option<String>,
    /// Subscription token.
    #[serde(default)]
    pub token: Option<String>,
}

impl Envelope {
    /// The canonical string SNS signs: `Key\nValue\n` for each present key, in SNS's order.
    pub fn string_to_sign(&self) -> String {
        let mut fields: Vec<(&str, &str)> = vec![("Message", &self.message), ("MessageId", &self.message_id)];
        if self.kind == "Notification" {
            if let Some(subject) = &self.subject {
                fields.push(("Subject", subject));
            }
            fields.extend([
                ("Timestamp", self.timestamp.as_str()),
                ("TopicArn", &self.topic_arn),
                ("Type", &self.kind),
            ]);
        } else {
            fields.push(("SubscribeURL", self.subscribe_url.as_deref().unwrap_or_default()));
            fields.extend([("Timestamp", self.timestamp.as_str())]);
            fields.push(("Token", self.token.as_deref().unwrap_or_default()));
            fields.extend([("TopicArn", self.topic_arn.as_str()), ("Type", &self.kind)]);
        }
        fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect()
    }
}

/// The SNS host of a URL, if it is an https URL on `sns.<region>.amazonaws.com(.cn)`.
fn sns_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    let host = rest.split(['/', '?', ':']).next()?;
    let region = host
        .strip_prefix("sns.")?
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_prefix("sns.")?.strip_suffix(".amazonaws.com.cn"))?;
    let ok = region.len() >= 3 && region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(host)
}

/// The SNS host of a signing certificate's URL: an SNS URL naming a `.pem` file, with no query or
/// fragment (which would let any path pass for a `.pem` and make each variant a new fetch).
fn signing_cert_host(url: &str) -> Option<&str> {
    if url.contains(['?', '#']) || !url.ends_with(".pem") {
        return None;
    }
    sns_host(url)
}

/// Whether `url` is an issuer certificate on Amazon's trust host (`*.amazontrust.com`), with no
/// query or fragment.
fn amazon_issuer_url(url: &str) -> bool {
    if url.contains(['?', '#']) {
        return false;
    }
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else { return false };
    let host = rest.split(['/', '?', ':', '#', '@']).next().unwrap_or_default();
    host.ends_with(".amazontrust.com") && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// The caIssuers URL of a certificate's Authority Information Access extension. A scan for the
/// access method's OID followed by a URI (`[6] IA5String`) is enough: a mis-read can only
/// fetch a certificate that then fails to chain, and only from Amazon's trust host.
fn ca_issuers_url(cert: &[u8]) -> Option<String> {
    // id-ad-caIssuers, 1.3.6.1.5.5.7.48.2
    const OID: [u8; 10] = [0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    let at = cert.windows(OID.len()).position(|w| w == OID)? + OID.len();
    let rest = cert.get(at..)?;
    if *rest.first()? != 0x86 {
        return None;
    }
    let (len, start) = match *rest.get(1)? {
        n if n < 0x80 => (n as usize, 2),
        0x81 => (*rest.get(2)? as usize, 3),
        _ => return None,
    };
    let uri = std::str::from_utf8(rest.get(start..start + len)?).ok()?;
    Some(uri.to_string())
}

/// Fetches what SNS points at: signing certificates, their issuers, subscription confirmations.
#[async_trait]
pub trait SnsFetch: Send + Sync {
    /// GETs `url` (already validated as an SNS URL or an Amazon issuer URL).
    async fn get(&self, url: &str) -> Result<Vec<u8>, ChannelError>;
}

/// Largest certificate file fetched; real ones are under 2 KB.
const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;

/// Certificates kept per instance: SNS signs with one certificate per region at a time (plus its
/// issuer), so a handful is plenty and a flood of invented URLs cannot grow memory.
const MAX_CACHED_CERTIFICATES: usize = 16;

/// How long one fetch from SNS or Amazon's trust host may take before the webhook gives up.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Fetched certificates by URL, at most [`MAX_CACHED_CERTIFICATES`]: when full, the oldest
/// entry goes.
#[derive(Default)]
struct CertificateCache(Mutex<Vec<(String, Vec<u8>)>>);

impl CertificateCache {
    fn get(&self, url: &str) -> Option<Vec<u8>> {
        switchboard_core::sync::lock(&self.0).iter().find(|(u, _)| u == url).map(|(_, bytes)| bytes.clone())
    }

    fn insert(&self, url: String, bytes: Vec<u8>) {
        let mut entries = switchboard_core::sync::lock(&self.0);
        entries.retain(|(u, _)| *u != url);
        if entries.len() >= MAX_CACHED_CERTIFICATES {
            entries.remove(0);
        }
        entries.push((url, bytes));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        switchboard_core::sync::lock(&self.0).len()
    }
}

/// The real fetcher, over HTTPS, with a timeout, caching certificates (they rotate rarely).
pub struct HttpFetch {
    http: reqwest::Client,
    cache: CertificateCache,
}

impl Default for HttpFetch {
    fn default() -> Self {
        Self::with_timeout(FETCH_TIMEOUT)
    }
}

impl HttpFetch {
    /// A fetcher whose every request gives up after `timeout`.
    pub fn with_timeout(timeout: std::time::Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { http, cache: CertificateCache::default() }
    }
}

#[async_trait]
impl SnsFetch for HttpFetch {
    async fn get(&self, url: &str) -> Result<Vec<u8>, ChannelError> {
        let cacheable = url.ends_with(".pem") || url.ends_with(".cer");
        if cacheable && let Some(hit) = self.cache.get(url) {
            return Ok(hit);
        }
        let fetched = async { self.http.get(url).send().await?.error_for_status()?.bytes().await };
        let bytes = fetched.await.map_err(|_| ChannelError::Unauthorized("could not fetch from SNS"))?.to_vec();
        if cacheable && bytes.len() > MAX_CERTIFICATE_BYTES {
            return Err(ChannelError::Unauthorized("certificate file too large"));
        }
        if cacheable {
            self.cache.insert(url.to_string(), bytes.clone());
        }
        Ok(bytes)
    }
}

/// Verifies SNS messages against trusted roots.
pub struct SnsVerifier {
    anchors: Vec<TrustAnchor<'static>>,
    fetch: Arc<dyn SnsFetch>,
}

impl SnsVerifier {
    /// Production: the public web PKI roots (Amazon's included) and the HTTPS fetcher.
    pub fn aws() -> Self {
        Self { anchors: webpki_roots::TLS_SERVER_ROOTS.to_vec(), fetch: Arc::new(HttpFetch::default()) }
    }

    /// Trusting the CA certificates in `ca_pem` only, fetching with `fetch` (tests).
    pub fn with_roots(ca_pem: &[u8], fetch: Arc<dyn SnsFetch>) -> Result<Self, ChannelError> {
        let mut anchors = Vec::new();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            let cert = cert.map_err(|_| ChannelError::Malformed("CA PEM".into()))?;
            let anchor = webpki::anchor_from_trusted_cert(&cert)
                .map_err(|_| ChannelError::Malformed("CA certificate".into()))?;
            anchors.push(anchor.to_owned());
        }
        Ok(Self { anchors, fetch })
    }

    /// Verifies `envelope` at time `now`.
    pub async fn verify(&self, envelope: &Envelope, now: DateTime<Utc>) -> Result<(), ChannelError> {
        if envelope.signature_version != "2" {
            return Err(ChannelError::Unauthorized("only SNS signature version 2 (SHA256) is accepted"));
        }
        // SNS retries an HTTP delivery for at most an hour: anything older is a replay.
        let sent = DateTime::parse_from_rfc3339(&envelope.timestamp)
            .map_err(|_| ChannelError::Unauthorized("malformed Timestamp"))?;
        let age = now - sent.with_timezone(&Utc);
        if age > chrono::Duration::hours(1) || age < -chrono::Duration::minutes(5) {
            return Err(ChannelError::Unauthorized("stale SNS message"));
        }
        let url = &envelope.signing_cert_url;
        let host =
            signing_cert_host(url).ok_or(ChannelError::Unauthorized("SigningCertURL is not an SNS certificate URL"))?;
        let pem = self.fetch.get(url).await?;
        let mut certs = CertificateDer::pem_slice_iter(&pem);
        let cert =
            certs.next().and_then(Result::ok).ok_or(ChannelError::Unauthorized("signing certificate is not PEM"))?;
        let mut intermediates: Vec<CertificateDer<'static>> = certs.filter_map(Result::ok).collect();
        let ee = webpki::EndEntityCert::try_from(&cert)
            .map_err(|_| ChannelError::Unauthorized("signing certificate does not parse"))?;
        let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.timestamp().max(0) as u64));
        let chains = |intermediates: &[CertificateDer<'_>]| {
            ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &self.anchors,
                intermediates,
                at,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )
            .map(|_| ())
        };
        if let Err(webpki::Error::UnknownIssuer) = chains(&intermediates) {
            // The shape AWS serves: the issuer is named in the certificate, not included.
            let issuer = ca_issuers_url(&cert)
                .filter(|u| amazon_issuer_url(u))
                .ok_or(ChannelError::Unauthorized("signing certificate is not trusted"))?;
            let bytes = self.fetch.get(&issuer).await?;
            let der = match CertificateDer::from_pem_slice(&bytes) {
                Ok(pem) => pem,
                Err(_) => CertificateDer::from(bytes),
            };
            intermediates.push(der);
        }
        chains(&intermediates).map_err(|_| ChannelError::Unauthorized("signing certificate is not trusted"))?;
        let name = ServerName::try_from(host).map_err(|_| ChannelError::Unauthorized("bad SNS host"))?;
        ee.verify_is_valid_for_subject_name(&name)
            .map_err(|_| ChannelError::Unauthorized("certificate is not for that SNS host"))?;
        let signature =
            STANDARD.decode(&envelope.signature).map_err(|_| ChannelError::Unauthorized("malformed Signature"))?;
        ee.verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, envelope.string_to_sign().as_bytes(), &signature)
            .map_err(|_| ChannelError::Unauthorized("SNS signature does not verify"))
    }

    /// Confirms a (verified) subscription by visiting its `SubscribeURL`.
    pub async fn confirm(&self, envelope: &Envelope) -> Result<(), ChannelError> {
        let url = envelope.subscribe_url.as_deref().ok_or_else(|| ChannelError::Malformed("no SubscribeURL".into()))?;
        sns_host(url).ok_or(ChannelError::Unauthorized("SubscribeURL is not an SNS URL"))?;
        self.fetch.get(url).await.map(|_| ())
    }
}

/// The customer's e-mail in an SES "Received" notification (SNS action, raw MIME in `content`).
pub fn ses_mail(message: &str, own_address: &str) -> Result<Option<super::Incoming>, ChannelError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Notification {
        notification_type: String,
        mail: Mail,
        #[serde(default)]
        receipt: Receipt,
        #[serde(default)]
        content: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Mail {
        message_id: String,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Receipt {
        #[serde(default)]
        dmarc_verdict: Option<Verdict>,
    }
    #[derive(Deserialize)]
    struct Verdict {
        status: String,
    }
    let n: Notification =
        serde_json::from_str(message).map_err(|e| ChannelError::Malformed(format!("SES notification: {e}")))?;
    if n.notification_type != "Received" {
        return Ok(None);
    }
    let raw = n
        .content
        .ok_or_else(|| ChannelError::Malformed("the SES receipt rule must use the SNS action (content)".into()))?;
    let parsed = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .ok_or_else(|| ChannelError::Malformed("MIME".into()))?;
    let auto = parsed.header_raw("Auto-Submitted").is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    let from = parsed.from().and_then(|f| f.first()).and_then(|a| a.address()).map(|a| a.trim().to_lowercase());
    let Some(from) = from.filter(|f| f.contains('@')) else { return Err(ChannelError::Malformed("no sender".into())) };
    if auto || from == own_address.trim().to_lowercase() {
        return Ok(None);
    }
    let text = super::cap_email_text(super::email::strip_quoted(&parsed.body_text(0).unwrap_or_default()));
    if text.is_empty() {
        return Ok(None);
    }
    Ok(Some(super::Incoming {
        provider_message_id: super::required(&n.mail.message_id, "mail.messageId")?,
        address: from,
        recipient: None,
        text,
        display_name: parsed.from().and_then(|f| f.first()).and_then(|a| a.name()).map(str::to_string),
        thread: parsed.message_id().map(|id| format!("<{id}>")),
        attachments: parsed
            .attachments()
            .map(|a| {
                use mail_parser::MimeHeaders;
                switchboard_core::domain::AttachmentNote::new(a.attachment_name().unwrap_or_default(), a.len() as u64)
            })
            .collect(),
        // SES's own verdict (inside the signed notification): only a passing DMARC check proves
        // the From address; a domain without DMARC (GRAY) proves nothing. It judged one From
        // address: with several, which one it judged is not ours to guess.
        unverified: n.receipt.dmarc_verdict.is_none_or(|v| v.status != "PASS") || !single_from(&parsed),
        sent_at: None,
    }))
}

/// Whether the mail has exactly one From header holding exactly one address.
fn single_from(mail: &mail_parser::Message<'_>) -> bool {
    let mut froms = mail.headers().iter().filter(|h| h.name == mail_parser::HeaderName::From);
    let (Some(from), None) = (froms.next(), froms.next()) else { return false };
    from.value().as_address().is_some_and(|a| a.iter().count() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sns_certificate_hosts_are_trusted_urls() {
        assert_eq!(
            sns_host("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"),
            Some("sns.us-east-1.amazonaws.com")
        );
        assert_eq!(sns_host("https://sns.cn-north-1.amazonaws.com.cn/x.pem"), Some("sns.cn-north-1.amazonaws.com.cn"));
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.com/x.pem",
            "https://evil.com/sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.amazonaws.com/x.pem",
            "https://s3.us-east-1.amazonaws.com/x.pem",
        ] {
            assert_eq!(sns_host(bad), None, "{bad}");
        }
    }

    /// A query string makes any path look like a `.pem` (`/x?y=.pem`) and every variant a new
    /// cache entry: certificate and issuer URLs with a query or fragment are refused.
    #[test]
    fn certificate_urls_with_a_query_or_fragment_are_refused() {
        assert!(signing_cert_host("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem").is_some());
        for bad in [
            "https://sns.us-east-1.amazonaws.com/x?y=.pem",
            "https://sns.us-east-1.amazonaws.com/x.pem?y=1",
            "https://sns.us-east-1.amazonaws.com/x.pem#frag",
            "https://sns.us-east-1.amazonaws.com/x.txt",
        ] {
            assert_eq!(signing_cert_host(bad), None, "{bad}");
        }
        assert!(!amazon_issuer_url("http://crt.r2m02.amazontrust.com/r2m02.cer?x=1"));
        assert!(!amazon_issuer_url("http://crt.r2m02.amazontrust.com/r2m02.cer#x"));
    }

    /// Certificates are cached before any signature proves the message genuine, so the cache
    /// is bounded whatever URLs arrive.
    #[test]
    fn the_certificate_cache_is_bounded() {
        let cache = CertificateCache::default();
        for i in 0..(MAX_CACHED_CERTIFICATES * 3) {
            cache.insert(format!("https://sns.us-east-1.amazonaws.com/{i}.pem"), vec![0; 10]);
        }
        assert!(cache.len() <= MAX_CACHED_CERTIFICATES, "{}", cache.len());
        let last = format!("https://sns.us-east-1.amazonaws.com/{}.pem", MAX_CACHED_CERTIFICATES * 3 - 1);
        assert!(cache.get(&last).is_some(), "the newest stays");
    }

    /// A certificate host that accepts and never answers must not hold the webhook: the fetch
    /// gives up after its timeout.
    #[tokio::test]
    async fn a_certificate_fetch_that_never_answers_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/x.pem", listener.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            drop(socket);
        });
        let fetch = HttpFetch::with_timeout(std::time::Duration::from_millis(300));
        let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), fetch.get(&url)).await;
        assert!(matches!(outcome, Ok(Err(ChannelError::Unauthorized(_)))), "{outcome:?}");
        held.abort();
    }

    #[test]
    fn issuers_are_fetched_only_from_amazons_trust_host() {
        assert!(amazon_issuer_url("http://crt.r2m02.amazontrust.com/r2m02.cer"));
        assert!(amazon_issuer_url("https://crt.r2m01.amazontrust.com/r2m01.cer"));
        for bad in [
            "http://crt.r2m02.amazontrust.com.evil.example/r2m02.cer",
            "http://evil.example/crt.r2m02.amazontrust.com",
            "http://user@169.254.169.254/x.amazontrust.com",
            "ftp://crt.r2m02.amazontrust.com/x.cer",
            "http://amazontrust.com/x.cer",
        ] {
            assert!(!amazon_issuer_url(bad), "{bad}");
        }
    }

    #[test]
    fn the_issuer_url_is_read_from_the_certificate() {
        let pem = include_bytes!("../../../tests/fixtures/sns/signer.pem");
        let cert = CertificateDer::from_pem_slice(pem).unwrap();
        assert_eq!(ca_issuers_url(&cert).as_deref(), Some("http://crt.r2m02.test.amazontrust.com/r2m02.cer"));
        let root = CertificateDer::from_pem_slice(include_bytes!("../../../tests/fixtures/sns/ca.pem")).unwrap();
        assert_eq!(ca_issuers_url(&root), None);
        assert_eq!(ca_issuers_url(&[0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02, 0x86, 0x7f]), None);
    }

    fn ses(headers: &str, dmarc: &str) -> Option<crate::channels::Incoming> {
        let mime = format!("{headers}\r\nSubject: Order\r\nMessage-ID: <m1@example.com>\r\n\r\nWhere is my order?\r\n");
        let message = serde_json::json!({"notificationType": "Received", "mail": {"messageId": "m1"},
            "receipt": {"dmarcVerdict": {"status": dmarc}}, "content": mime});
        ses_mail(&message.to_string(), "support@shop.example").unwrap()
    }

    /// DMARC judges one From address; which one a parser picks from several is anybody's guess,
    /// so mail with several From headers or addresses identifies nobody.
    #[test]
    fn ses_mail_with_several_from_addresses_is_anonymous() {
        let one = ses("From: Ben <ben@example.com>", "PASS").unwrap();
        assert!(!one.unverified);
        assert_eq!(one.address, "ben@example.com");
        assert!(ses("From: ben@example.com", "FAIL").unwrap().unverified);
        for several in [
            "From: attacker@evil.example\r\nFrom: ben@example.com",
            "From: ben@example.com\r\nFrom: attacker@evil.example",
            "From: attacker@evil.example, ben@example.com",
            "From: ben@example.com, attacker@evil.example",
            "From: friends: ben@example.com, attacker@evil.example;",
        ] {
            let mail = ses(several, "PASS").unwrap();
            assert!(mail.unverified, "{several}: {:?}", mail.address);
        }
    }

    #[test]
    fn canonical_strings_follow_the_sns_order() {
        let n: Envelope = serde_json::from_value(serde_json::json!({"Type": "Notification", "MessageId": "m", "TopicArn": "t", "Subject": "s",
            "Message": "line1\nline2", "Timestamp": "ts", "SignatureVersion": "2", "Signature": "", "SigningCertURL": ""}))
        .unwrap();
        assert_eq!(
            n.string_to_sign(),
            "Message\nline1\nline2\nMessageId\nm\nSubject\ns\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n"
        );
        let c: Envelope = serde_json::from_value(serde_json::json!({"Type": "SubscriptionConfirmation", "MessageId": "m", "TopicArn": "t",
            "Message": "msg", "Timestamp": "ts", "SignatureVersion": "2", "Signature": "", "SigningCertURL": "", "SubscribeURL": "u", "Token": "k"}))
        .unwrap();
        assert_eq!(
            c.string_to_sign(),
            "Message\nmsg\nMessageId\nm\nSubscribeURL\nu\nTimestamp\nts\nToken\nk\nTopicArn\nt\nType\nSubscriptionConfirmation\n"
        );
    }
}
