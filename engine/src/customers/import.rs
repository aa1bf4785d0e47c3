//! Bulk import of customers from the files shops export: CSV (one profile per row) and JSON
//! Lines (the `Customer` shape, orders included). Streaming — a 200,000-row file is never held
//! whole — and in batches to the customer store. A bad row is rejected whole, with its line
//! number and every problem; the good rows around it are stored. Importing the same file
//! again changes nothing; an edited file updates profiles and unlinks identities a row dropped.
//!
//! CSV header: `id,name,tier,language,phones,emails`, then any other columns, which become
//! attributes templates can show (empty cells are left out). `id` and `name` are required;
//! `phones` and `emails` hold several values separated by `;`.

use super::{FieldError, check_customer, problem};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Read};
use switchboard_core::domain::{Customer, CustomerId, Language, TenantId};
use switchboard_core::ports::{CustomerStore, KeepUntil, PortError};

/// The two formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated, with the documented header.
    Csv,
    /// One JSON `Customer` per line.
    JsonLines,
}

impl Format {
    /// The format a file name says (`.csv`; `.jsonl`, `.ndjson`), if it says one.
    pub fn of_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            _ => None,
        }
    }
}

/// A row that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    /// The line it started on (1 is the first line of the file, the header in a CSV).
    pub line: u64,
    /// Its customer id, when it had a valid one.
    pub id: Option<String>,
    /// Everything wrong with it.
    pub problems: Vec<FieldError>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Rows read (rejected ones included; blank lines not).
    pub rows: u64,
    /// Profiles stored (or, in a dry run, that would be).
    pub stored: u64,
    /// Orders among them.
    pub orders: u64,
    /// Rows rejected, in file order.
    pub rejected: Vec<Rejected>,
    /// Whether nothing was written.
    pub dry_run: bool,
}

/// Customers written per call to the store (each a few batched requests).
const BATCH: usize = 500;

/// Imports `input` in `format` into `tenant`'s customers, kept until `keep` (the tenant's
/// profile retention); `progress` is told the rows read so far after every batch. A dry run
/// checks everything and writes nothing. Store errors stop the import (what was stored stays
/// stored; running it again completes it).
pub async fn import(
    store: &dyn CustomerStore,
    tenant: &TenantId,
    keep: KeepUntil,
    input: impl Read,
    format: Format,
    dry_run: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, PortError> {
    let mut batch = Batch::new(dry_run);
    let rows: Box<dyn Iterator<Item = Row>> = match format {
        Format::Csv => Box::new(csv_rows(input)),
        Format::JsonLines => Box::new(json_rows(std::io::BufReader::new(input))),
    };
    for (line, parsed) in rows {
        batch.add(line, parsed);
        if batch.pending.len() >= BATCH {
            batch.flush(store, tenant, keep).await?;
            progress(batch.report.rows);
        }
    }
    batch.flush(store, tenant, keep).await?;
    progress(batch.report.rows);
    Ok(batch.report)
}

/// A row as read: its first line and the customer, or what is wrong with it.
type Row = (u64, Result<Customer, Vec<FieldError>>);

/// Rows checked but not yet written, and what the file has used so far: an id or a phone that
/// two rows claim is a mistake in the file, so the later row is rejected, naming the earlier.
struct Batch {
    pending: Vec<Customer>,
    ids: HashMap<String, u64>,
    identities: HashMap<String, u64>,
    report: Report,
}

impl Batch {
    fn new(dry_run: bool) -> Self {
        Self {
            pending: Vec::new(),
            ids: HashMap::new(),
            identities: HashMap::new(),
            report: Report { dry_run, ..Report::default() },
        }
    }

    fn add(&mut self, line: u64, parsed: Result<Customer, Vec<FieldError>>) {
        self.report.rows += 1;
        let customer = match parsed.and_then(check_customer) {
            Ok(customer) => customer,
            Err(problems) => return self.report.rejected.push(Rejected { line, id: None, problems }),
        };
        let id = customer.id.as_str().to_string();
        let mut problems = Vec::new();
        if let Some(first) = self.ids.get(&id) {
            problems.push(problem("id", format!("already on line {first}")));
        }
        for identity in customer.identities() {
            if let Some(first) = self.identities.get(&identity) {
                let field = if identity.starts_with("phone:") { "phones" } else { "emails" };
                problems.push(problem(field, format!("also on line {first}")));
            }
        }
        if !problems.is_empty() {
            return self.report.rejected.push(Rejected { line, id: Some(id), problems });
        }
        self.ids.insert(id, line);
        for identity in customer.identities() {
            self.identities.insert(identity, line);
        }
        self.report.stored += 1;
        self.report.orders += customer.orders.len() as u64;
        if !self.report.dry_run {
            self.pending.push(customer);
        }
    }

    async fn flush(&mut self, store: &dyn CustomerStore, tenant: &TenantId, keep: KeepUntil) -> Result<(), PortError> {
        if !self.pending.is_empty() {
            store.put_customers(tenant, &self.pending, keep).await?;
            self.pending.clear();
        }
        Ok(())
    }
}

/// The columns with a meaning; any other is an attribute.
const KNOWN_COLUMNS: [&str; 6] = ["id", "name", "tier", "language", "phones", "emails"];

fn csv_rows(input: impl Read) -> impl Iterator<Item = Row> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(input);
    let headers = reader.headers().map(|h| h.iter().map(|c| c.trim().to_lowercase()).collect::<Vec<_>>());
    let (headers, header_problem) = match headers {
        Ok(h) if h.iter().any(|c| c == "id") && h.iter().any(|c| c == "name") => (h, None),
        Ok(_) => (Vec::new(), Some(problem("header", "needs `id` and `name` columns (see the documented header)"))),
        Err(e) => (Vec::new(), Some(problem("header", e.to_string()))),
    };
    let header_row = header_problem.map(|p| (1, Err(vec![p])));
    let records = reader.into_records().map(move |record| match record {
        Ok(record) => {
            let line = record.position().map_or(0, csv::Position::line);
            (line, csv_customer(&headers, &record))
        }
        Err(e) => {
            let line = e.position().map_or(0, csv::Position::line);
            (line, Err(vec![problem("row", csv_error(&e))]))
        }
    });
    // A file without the header's columns is one rejection, not one per row.
    let unusable = header_row.is_some();
    header_row.into_iter().chain(records.take_while(move |_| !unusable))
}

/// A CSV error without the cell's contents (they may be personal data).
fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} columns where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8".into(),
        _ => "unreadable row".into(),
    }
}

fn csv_customer(headers: &[String], record: &csv::StringRecord) -> Result<Customer, Vec<FieldError>> {
    let mut cells: HashMap<&str, &str> = HashMap::new();
    let mut attributes = BTreeMap::new();
    for (name, value) in headers.iter().zip(record.iter()) {
        if KNOWN_COLUMNS.contains(&name.as_str()) {
            cells.insert(name, value);
        } else if !value.is_empty() {
            attributes.insert(name.clone(), value.to_string());
        }
    }
    let mut problems = Vec::new();
    let id = CustomerId::new(cells.get("id").copied().unwrap_or_default())
        .map_err(|e| problems.push(problem("id", e.reason)))
        .ok();
    let language = match cells.get("language").copied().unwrap_or_default() {
        "" => None,
        code => {
            let found = Language::from_code(&code.to_lowercase());
            if found.is_none() {
                problems.push(problem("language", "not a language code we support"));
            }
            found
        }
    };
    let list = |column: &str| -> Vec<String> {
        let cell = cells.get(column).copied().unwrap_or_default();
        cell.split(';').map(str::trim).filter(|v| !v.is_empty()).map(String::from).collect()
    };
    let tier = match cells.get("tier").copied().unwrap_or_default() {
        "" => "standard".to_string(),
        tier => tier.to_string(),
    };
    match id {
        Some(id) if problems.is_empty() => Ok(Customer {
            id,
            name: cells.get("name").copied().unwrap_or_default().to_string(),
            tier,
            language,
            orders: vec![],
            attributes,
            phones: list("phones"),
            emails: list("emails"),
        }),
        _ => Err(problems),
    }
}

fn json_rows(input: impl BufRead) -> impl Iterator<Item = Row> {
    input.lines().enumerate().filter_map(|(n, line)| {
        let number = n as u64 + 1;
        match line {
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => Some((number, json_customer(&text))),
            Err(_) => Some((number, Err(vec![problem("line", "not UTF-8 text")]))),
        }
    })
}

fn json_customer(text: &str) -> Result<Customer, Vec<FieldError>> {
    super::from_json(text.as_bytes()).map_err(|e| {
        let field = if e.field == "body" { "line".to_string() } else { e.field };
        vec![FieldError { field, ..e }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryCustomers;

    fn tenant() -> TenantId {
        TenantId::new("shop").unwrap()
    }

    async fn run(store: &MemoryCustomers, text: &str, format: Format, dry_run: bool) -> Report {
        import(store, &tenant(), None, text.as_bytes(), format, dry_run, &mut |_| {}).await.unwrap()
    }

    const CSV: &str = "id,name,tier,language,phones,emails,city\n\
        c-1,Ana García,gold,es,+34 600 111 222;+34600111333,ana@example.com,Sevilla\n\
        c-2,,standard,,,,\n\
        c-3,Ben Ode,,en,600 111 444,ben@example.com,\n\
        c-1,Ana Again,,,,,\n\
        c-4,Cleo,,xx,+34600111222,,\n\
        c-5,\"Dee, Dee\",vip,de,,dee@example.com,Köln\n";

    #[tokio::test]
    async fn a_csv_stores_good_rows_and_reports_bad_ones_by_line() {
        let store = MemoryCustomers::default();
        let report = run(&store, CSV, Format::Csv, false).await;
        assert_eq!((report.rows, report.stored), (6, 2), "{report:?}");
        let lines: Vec<(u64, &str)> =
            report.rejected.iter().flat_map(|r| r.problems.iter().map(move |p| (r.line, p.field.as_str()))).collect();
        assert_eq!(
            lines,
            [(3, "name"), (4, "phones[0]"), (5, "id"), (6, "language")],
            "every bad row, by its line: {report:?}"
        );
        let ana = store.customer(&tenant(), &CustomerId::new("c-1").unwrap()).await.unwrap().unwrap();
        assert_eq!(ana.phones, ["+34600111222", "+34600111333"]);
        assert_eq!(ana.attributes.get("city").map(String::as_str), Some("Sevilla"));
        assert_eq!(ana.language, Language::from_code("es"));
        let dee = store.customer(&tenant(), &CustomerId::new("c-5").unwrap()).await.unwrap().unwrap();
        assert_eq!((dee.name.as_str(), dee.tier.as_str()), ("Dee, Dee", "vip"));
        for rejected in ["c-2", "c-3", "c-4"] {
            let id = CustomerId::new(rejected).unwrap();
            assert_eq!(store.customer(&tenant(), &id).await.unwrap(), None, "{rejected}: nothing half-written");
        }
    }

    #[tokio::test]
    async fn a_dry_run_writes_nothing_and_reports_the_same() {
        let store = MemoryCustomers::default();
        let dry = run(&store, CSV, Format::Csv, true).await;
        assert!(store.customer(&tenant(), &CustomerId::new("c-1").unwrap()).await.unwrap().is_none());
        let real = run(&store, CSV, Format::Csv, false).await;
        assert_eq!((dry.stored, dry.rejected.clone()), (real.stored, real.rejected), "same verdicts");
    }

    #[tokio::test]
    async fn reimporting_updates_and_unlinks_dropped_identities() {
        let store = MemoryCustomers::default();
        run(&store, CSV, Format::Csv, false).await;
        let edited = "id,name,phones\nc-1,Ana García,+34600111333\n";
        let report = run(&store, edited, Format::Csv, false).await;
        assert_eq!(report.stored, 1);
        assert_eq!(store.customer_for(&tenant(), "phone:+34600111222").await.unwrap(), None, "dropped, unlinked");
        let kept = store.customer_for(&tenant(), "phone:+34600111333").await.unwrap();
        assert_eq!(kept.map(|c| c.as_str().to_string()), Some("c-1".into()));
        let ana = store.customer(&tenant(), &CustomerId::new("c-1").unwrap()).await.unwrap().unwrap();
        assert!(ana.attributes.is_empty() && ana.tier == "standard", "the row is the whole profile: {ana:?}");
    }

    #[tokio::test]
    async fn json_lines_carry_orders_and_name_bad_fields_by_path() {
        let store = MemoryCustomers::default();
        let text = r#"{"id":"c-9","name":"Ana","phones":["+34600111999"],"orders":[{"id":"DS-1","status":"shipped","placed":"2026-11-01"}]}

{"id":"c-10","name":"Bo","orders":[{"id":"DS-2","status":"new","colour":"red"}]}
{"id":"bad id!","name":"Cy"}
not json
"#;
        let report = run(&store, text, Format::JsonLines, false).await;
        assert_eq!((report.rows, report.stored, report.orders), (4, 1, 1), "{report:?}");
        let fields: Vec<(u64, String)> =
            report.rejected.iter().map(|r| (r.line, r.problems[0].field.clone())).collect();
        assert_eq!(fields, [(3, "orders[0].colour".to_string()), (4, "id".into()), (5, "line".into())], "{report:?}");
        assert!(report.rejected[0].problems[0].message.contains("colour"), "names the unknown field");
        let c9 = store.customer(&tenant(), &CustomerId::new("c-9").unwrap()).await.unwrap().unwrap();
        assert_eq!(c9.orders.len(), 1);
    }

    #[tokio::test]
    async fn a_csv_without_the_header_is_one_clear_rejection() {
        let store = MemoryCustomers::default();
        let report = run(&store, "customer,full name\n1,Ana\n2,Ben\n", Format::Csv, false).await;
        assert_eq!((report.stored, report.rejected.len()), (0, 1), "{report:?}");
        assert_eq!(report.rejected[0].problems[0].field, "header");
        let ragged = run(&store, "id,name\nc-1,Ana,extra\nc-2,Ben\n", Format::Csv, false).await;
        assert_eq!(ragged.stored, 1);
        assert_eq!(ragged.rejected[0].line, 2);
        assert!(!ragged.rejected[0].problems[0].message.contains("extra"), "no cell echoed");
    }
}
