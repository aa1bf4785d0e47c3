//! AWS's billing units, counted the way AWS counts them. The AWS adapters read most units from
//! the services themselves (DynamoDB's `ConsumedCapacity`); the memory adapters compute the same
//! units from item sizes with these rules, so a local run shows what production would bill.

/// Bytes in a DynamoDB write unit.
const WRITE_UNIT_BYTES: u64 = 1024;
/// Bytes in a DynamoDB read unit.
const READ_UNIT_BYTES: u64 = 4096;
/// SQS bills each 64 KB chunk of a payload as one request.
const SQS_CHUNK_BYTES: u64 = 64 * 1024;
/// API Gateway HTTP APIs meter requests in 512 KB increments.
const API_INCREMENT_BYTES: u64 = 512 * 1024;

fn chunks(bytes: u64, size: u64) -> u64 {
    bytes.div_ceil(size).max(1)
}

/// Write capacity (thousandths) of writing an item of `bytes` (for an update: the larger of the
/// item before and after).
pub fn write_milli_units(bytes: u64) -> u64 {
    chunks(bytes, WRITE_UNIT_BYTES) * 1000
}

/// Read capacity (thousandths) of reading `bytes` (one item, or a query's items together).
pub fn read_milli_units(bytes: u64, consistent: bool) -> u64 {
    chunks(bytes, READ_UNIT_BYTES) * if consistent { 1000 } else { 500 }
}

/// Billed SQS requests for one API call carrying `payload_bytes`.
pub fn sqs_requests(payload_bytes: u64) -> u32 {
    u32::try_from(chunks(payload_bytes, SQS_CHUNK_BYTES)).unwrap_or(u32::MAX)
}

/// Reports one SQS send of `body_len` bytes to a FIFO or standard queue.
pub fn report_sqs_send(body_len: usize, fifo: bool) {
    let requests = sqs_requests(body_len as u64);
    switchboard_core::meter::report(|m| {
        if fifo {
            m.sqs_fifo_requests += requests;
        } else {
            m.sqs_standard_requests += requests;
        }
    });
}

/// Reports consuming one record of `body_len` bytes through Lambda's event source mapping: its
/// share of the receive and the delete (two requests a record: batches are usually of one at a
/// small business's volume, and the larger share is the honest one to budget with).
pub fn report_sqs_consumed(body_len: usize, fifo: bool) {
    report_sqs_send(body_len, fifo);
    report_sqs_send(0, fifo);
}

/// Billed API Gateway requests for one request of `bytes`.
pub fn api_requests(bytes: u64) -> u32 {
    u32::try_from(chunks(bytes, API_INCREMENT_BYTES)).unwrap_or(u32::MAX)
}

/// The size DynamoDB bills for an item: attribute names plus values (strings as UTF-8, numbers
/// by significant digits).
#[derive(Debug, Default, Clone, Copy)]
pub struct ItemSize(u64);

impl ItemSize {
    /// An item with key `pk`/`sk`.
    pub fn keyed(pk: &str, sk: &str) -> Self {
        Self::default().s("pk", pk).s("sk", sk)
    }

    /// A string attribute.
    pub fn s(self, name: &str, value: &str) -> Self {
        Self(self.0 + name.len() as u64 + value.len() as u64)
    }

    /// A number attribute: about one byte per two significant digits, plus one.
    pub fn n(self, name: &str, value: i64) -> Self {
        let digits = value.unsigned_abs().to_string();
        let significant = digits.trim_end_matches('0').len().max(1) as u64;
        Self(self.0 + name.len() as u64 + significant.div_ceil(2) + 1)
    }

    /// The bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

/// Segments an SMS of `text` is billed as: GSM-7 text fits 160 characters in one segment and
/// 153 per segment when split; anything else is UCS-2, 70 and 67 (UTF-16 units).
pub fn sms_segments(text: &str) -> u32 {
    let gsm = text.chars().all(is_gsm7);
    let (units, single, split) = if gsm {
        (text.chars().map(|c| if is_gsm7_extension(c) { 2 } else { 1 }).sum::<usize>(), 160, 153)
    } else {
        (text.encode_utf16().count(), 70, 67)
    };
    let segments = if units <= single { 1 } else { units.div_ceil(split) };
    u32::try_from(segments).unwrap_or(u32::MAX)
}

fn is_gsm7_extension(c: char) -> bool {
    matches!(c, '^' | '{' | '}' | '\\' | '[' | ']' | '~' | '|' | '€')
}

fn is_gsm7(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || is_gsm7_extension(c)
        || " \n\r!\"#$%&'()*+,-./:;<=>?@_".contains(c)
        || "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà".contains(c)
}

/// The first digits of an E.164 number (`+447700…` → `447`): enough for the price table to
/// find the destination's calling code (the longest priced prefix), without keeping the number.
pub fn dial_prefix(phone: &str) -> String {
    let digits: String = phone
        .trim_start_matches("whatsapp:")
        .trim_start_matches('+')
        .chars()
        .take_while(char::is_ascii_digit)
        .take(3)
        .collect();
    if digits.is_empty() { "default".to_string() } else { digits }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamodb_rounds_writes_to_1_kb_and_reads_to_4_kb() {
        assert_eq!(write_milli_units(0), 1000);
        assert_eq!(write_milli_units(1024), 1000);
        assert_eq!(write_milli_units(1025), 2000);
        assert_eq!(read_milli_units(4096, true), 1000);
        assert_eq!(read_milli_units(4097, true), 2000);
        assert_eq!(read_milli_units(100, false), 500);
    }

    #[test]
    fn sqs_bills_64_kb_chunks_and_api_gateway_512_kb_increments() {
        assert_eq!(sqs_requests(0), 1);
        assert_eq!(sqs_requests(65_536), 1);
        assert_eq!(sqs_requests(65_537), 2);
        assert_eq!(sqs_requests(256 * 1024), 4);
        assert_eq!(api_requests(512 * 1024), 1);
        assert_eq!(api_requests(512 * 1024 + 1), 2);
        assert_eq!(api_requests(6 * 1024 * 1024), 12);
    }

    #[test]
    fn item_sizes_count_names_and_values() {
        let size = ItemSize::keyed("T#a", "STATE").s("data", "{}").n("ttl", 1_700_000_000);
        // pk+3, sk+5, data+2, ttl + (2 significant digits → 1 byte) + 1
        assert_eq!(size.bytes(), 2 + 3 + 2 + 5 + 4 + 2 + 3 + 2);
    }

    #[test]
    fn sms_segments_follow_the_encoding() {
        assert_eq!(sms_segments(&"a".repeat(160)), 1);
        assert_eq!(sms_segments(&"a".repeat(161)), 2);
        assert_eq!(sms_segments(&"a".repeat(306)), 2);
        assert_eq!(sms_segments(&"a".repeat(307)), 3);
        assert_eq!(sms_segments(&"€".repeat(80)), 1, "extension characters take two septets");
        assert_eq!(sms_segments(&"€".repeat(81)), 2);
        assert_eq!(sms_segments(&"ł".repeat(70)), 1, "not GSM-7: UCS-2");
        assert_eq!(sms_segments(&"ł".repeat(71)), 2);
        assert_eq!(sms_segments("Hi 👋"), 1);
    }

    #[test]
    fn only_a_short_prefix_of_the_number_is_kept() {
        assert_eq!(dial_prefix("+447700900123"), "447");
        assert_eq!(dial_prefix("whatsapp:+15551234567"), "155");
        assert_eq!(dial_prefix("not a number"), "default");
    }
}
