//! Twilio Messaging: SMS and WhatsApp-via-Twilio.
//!
//! Inbound: a form-encoded webhook signed with `X-Twilio-Signature` = base64(HMAC-SHA1(auth
//! token, URL + every param name and value, names sorted)), over the public URL Twilio called
//! (configured per tenant: API Gateway may not see the same host or path). Twilio's own
//! validators accept the URL with the port removed or the default port added; so do we. JSON
//! webhooks carry `bodySHA256` in the URL instead of params. The ack is an empty TwiML response:
//! the answer goes out later through the Messages REST API.

use super::{ChannelError, Incoming};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The acknowledgement Twilio expects when the answer is sent later: empty TwiML.
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;

/// The signature Twilio computes for `url` and form `params`.
pub fn signature(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(mac(auth_token, url, params).finalize().into_bytes())
}

fn mac(auth_token: &[u8], url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Names in byte order; repeated names once per distinct value, values sorted.
    sorted.sort();
    sorted.dedup();
    let mut mac =
        <Hmac<Sha1> as Mac>::new_from_slice(auth_token).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The URL variants Twilio may have signed: as configured, without an explicit port, and with
/// the scheme's default port.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else { return out };
    let (authority, tail) = rest.find(['/', '?']).map(|i| rest.split_at(i)).unwrap_or((rest, ""));
    let host = authority.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map(|(h, _)| h);
    match host {
        Some(host) => out.push(format!("{scheme}://{host}{tail}")),
        None => {
            let port = if scheme == "https" { 443 } else { 80 };
            out.push(format!("{scheme}://{authority}:{port}{tail}"));
        }
    }
    out
}

/// Verifies a webhook: `url` is the public URL Twilio called (query string as sent), `body` the
/// raw body, `form` its decoded params (empty for JSON bodies).
pub fn verify(
    auth_token: &[u8],
    url: &str,
    form: &[(String, String)],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), ChannelError> {
    let header = header.ok_or(ChannelError::Unauthorized("missing X-Twilio-Signature"))?;
    let given =
        STANDARD.decode(header.trim()).map_err(|_| ChannelError::Unauthorized("malformed X-Twilio-Signature"))?;
    let body_hash = url
        .split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("bodySHA256=")))
        .map(str::to_string);
    let params: &[(String, String)] = if body_hash.is_some() { &[] } else { form };
    if let Some(expected) = &body_hash
        && !expected.eq_ignore_ascii_case(&hex::encode(Sha256::digest(body)))
    {
        return Err(ChannelError::Unauthorized("body does not match bodySHA256"));
    }
    let valid = url_variants(url).iter().any(|u| mac(auth_token, u, params).verify_slice(&given).is_ok());
    if valid { Ok(()) } else { Err(ChannelError::Unauthorized("X-Twilio-Signature does not verify")) }
}

/// Decodes a form body, keeping repeated names.
pub fn form(body: &[u8]) -> Result<Vec<(String, String)>, ChannelError> {
    serde_urlencoded::from_bytes(body).map_err(|e| ChannelError::Malformed(format!("form body: {e}")))
}

/// The customer message in a webhook's params, if it carries one. Status callbacks (no `Body`,
/// a `MessageStatus`) and media without text are acknowledged and skipped.
pub fn parse(params: &[(String, String)]) -> Result<Option<Incoming>, ChannelError> {
    // An empty value is no value: an empty MessageSid would be a de-duplication key every such
    // message shares.
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    if get("MessageStatus").is_some() && get("Body").is_none() {
        return Ok(None);
    }
    let sid =
        get("MessageSid").or(get("SmsMessageSid")).ok_or_else(|| ChannelError::Malformed("no MessageSid".into()))?;
    let from = get("From").ok_or_else(|| ChannelError::Malformed("no From".into()))?;
    let to = get("To").ok_or_else(|| ChannelError::Malformed("no To".into()))?;
    let Some(text) = get("Body") else { return Ok(None) };
    Ok(Some(Incoming {
        provider_message_id: sid.to_string(),
        address: from.to_string(),
        recipient: Some(to.to_string()),
        text: text.to_string(),
        display_name: get("ProfileName").map(str::to_string),
        thread: None,
        attachments: Vec::new(),
        unverified: false,
        sent_at: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::domain::split;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn official() -> Vec<(String, String)> {
        p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn published_vectors() {
        assert_eq!(signature(b"12345", URL, &official()), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert_eq!(
            signature(b"12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", &official()),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        assert_eq!(
            signature(b"12345", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", &official()),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        );
        assert_eq!(
            signature(b"12345", "http://mycompany.com:80/myapp.php?foo=1&bar=2", &official()),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        );
        let dup =
            p(&[("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234"), ("Digits", "1234")]);
        assert_eq!(signature(b"12345", URL, &dup), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
        let mut gist = official();
        gist[1].1 = "+12349013030".into();
        gist[3].1 = "+12349013030".into();
        assert_eq!(signature(b"12345", URL, &gist), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    }

    #[test]
    fn verification_accepts_port_variants() {
        let body = b"";
        assert!(verify(b"12345", URL, &official(), body, Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")).is_ok());
        assert!(
            verify(b"12345", URL, &official(), body, Some("kvajT1Ptam85bY51eRf/AJRuM3w=")).is_ok(),
            "signed with :443"
        );
        let with_port = "https://mycompany.com:1234/myapp.php?foo=1&bar=2";
        assert!(
            verify(b"12345", with_port, &official(), body, Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")).is_ok(),
            "port stripped"
        );
    }

    #[test]
    fn json_bodies_are_signed_through_body_sha256() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        assert_eq!(hex::encode(Sha256::digest(body)), hash);
        let url = format!("{URL}&bodySHA256={hash}");
        assert_eq!(signature(b"12345", &url, &[]), "a9nBmqA0ju/hNViExpshrM61xv4=");
        assert!(verify(b"12345", &url, &[], body, Some("a9nBmqA0ju/hNViExpshrM61xv4=")).is_ok());
        let tampered = br#"{"property": "other", "boolean": true}"#;
        assert!(verify(b"12345", &url, &[], tampered, Some("a9nBmqA0ju/hNViExpshrM61xv4=")).is_err());
    }

    #[test]
    fn wrong_token_tampered_params_and_missing_headers_are_refused() {
        assert!(verify(b"54321", URL, &official(), b"", Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")).is_err());
        let mut tampered = official();
        tampered[2].1 = "9999".into();
        assert!(verify(b"12345", URL, &tampered, b"", Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")).is_err());
        assert!(verify(b"12345", URL, &official(), b"", None).is_err());
        assert!(verify(b"12345", URL, &official(), b"", Some("not base64!!")).is_err());
    }

    /// Found by the fuzzer (`fuzz/`, target `twilio`): `MessageSid=` with no value parsed as a
    /// message whose de-duplication key was empty, so every such message was one message.
    #[test]
    fn a_message_with_an_empty_id_or_sender_is_malformed() {
        for (sid, from) in [("", "+34600111222"), ("  ", "+34600111222"), ("SM1", ""), ("SM1", " ")] {
            let params = p(&[("MessageSid", sid), ("From", from), ("To", "+15550001111"), ("Body", "Hi")]);
            assert!(matches!(parse(&params), Err(ChannelError::Malformed(_))), "MessageSid {sid:?}, From {from:?}");
        }
    }

    #[test]
    fn parses_sms_and_whatsapp_and_skips_status_callbacks_and_media_only() {
        let sms = p(&[
            ("MessageSid", "SM1"),
            ("From", "+34600111222"),
            ("To", "+15550001111"),
            ("Body", " Where is my order? "),
        ]);
        let m = parse(&sms).unwrap().unwrap();
        assert_eq!(
            (m.provider_message_id.as_str(), m.address.as_str(), m.text.as_str()),
            ("SM1", "+34600111222", "Where is my order?")
        );
        let wa = p(&[
            ("MessageSid", "SM2"),
            ("From", "whatsapp:+34600111222"),
            ("To", "whatsapp:+1555"),
            ("Body", "hola"),
            ("ProfileName", "Ana"),
        ]);
        assert_eq!(parse(&wa).unwrap().unwrap().display_name.as_deref(), Some("Ana"));
        let status = p(&[("MessageSid", "SM3"), ("MessageStatus", "delivered"), ("From", "+1"), ("To", "+2")]);
        assert_eq!(parse(&status).unwrap(), None);
        let media = p(&[("MessageSid", "MM4"), ("From", "+1"), ("To", "+2"), ("Body", ""), ("NumMedia", "1")]);
        assert_eq!(parse(&media).unwrap(), None);
        assert!(matches!(parse(&p(&[("Body", "hi")])), Err(ChannelError::Malformed(_))));
    }

    #[test]
    fn long_answers_are_split_on_word_boundaries() {
        let text = "word ".repeat(500);
        let parts = switchboard_core::domain::Channel::TwilioSms.parts(text.trim());
        assert!(parts.len() == 2 && parts.iter().all(|p| p.chars().count() <= 1600));
        assert_eq!(parts.join(" "), text.trim());
        assert_eq!(split("short", 1600), vec!["short"]);
        assert_eq!(split(&"x".repeat(3201), 1600).len(), 3);
    }
}
