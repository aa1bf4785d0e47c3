//! The report as one self-contained HTML page: inline CSS and SVG, no script, no font or image
//! from elsewhere, so it can be mailed or opened from disk. Every text is escaped.

use super::report::{CostReport, dollars};
use std::fmt::Write;

const COLOURS: [(&str, &str); 8] = [
    ("lambda", "#e8a33d"),
    ("api_gateway", "#7a5ea8"),
    ("dynamodb", "#3b6fb6"),
    ("sqs", "#c44e8a"),
    ("model", "#2f9e6e"),
    ("logs", "#8c8c8c"),
    ("ssm", "#b0794a"),
    ("channels", "#d64545"),
];

/// `text` safe inside HTML text and attribute values.
pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Dollars with enough places to show a fraction of a cent.
fn money(usd: f64) -> String {
    if usd > 0.0 && usd < 0.01 { format!("${usd:.6}") } else { format!("${usd:.2}") }
}

/// The page's head, style and title block.
fn open_page(
    h: &mut String,
    title: &str,
    heading: &str,
    table: &super::TableId,
    generated: chrono::DateTime<chrono::Utc>,
    currency: &str,
) {
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Switchboard costs — {title}</title><style>
body{{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}}
main{{max-width:1040px;margin:0 auto;padding:24px}}h1{{font-size:22px;margin:0 0 4px}}h2{{font-size:16px;margin:28px 0 8px}}
.muted{{color:#5d6675;font-size:13px}}.cards{{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px;margin-top:16px}}
.card{{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px #0001}}.card b{{display:block;font-size:22px}}
section{{background:#fff;border-radius:8px;padding:14px 16px;margin-top:14px;box-shadow:0 1px 2px #0001}}
table{{border-collapse:collapse;width:100%}}td,th{{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;font-size:14px}}
td.n,th.n{{text-align:right;font-variant-numeric:tabular-nums}}.legend span{{display:inline-block;margin-right:12px;font-size:13px}}
.legend i{{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}}
.state-ok{{color:#2f7d4f}}.state-soft{{color:#b7791f}}.state-exhausted{{color:#c53030}}form{{margin:10px 0 0}}
</style></head><body><main>
<h1>{heading}</h1>
<div class="muted">Prices: {table} (region {region}, as of {as_of}). Generated {generated}. All amounts in {currency}.</div>
"#,
        title = esc(title),
        heading = esc(heading),
        table = esc(&table.id),
        region = esc(&table.region),
        as_of = esc(&table.as_of),
        generated = generated.format("%Y-%m-%d %H:%M UTC"),
        currency = esc(currency),
    );
}

/// The deployment's report across tenants ([`super::deployment`]).
pub fn deployment(r: &super::deployment::DeploymentReport) -> String {
    let mut h = String::with_capacity(16 * 1024);
    open_page(
        &mut h,
        &format!("every tenant — {}", r.month),
        &format!("Costs of every tenant in {}", r.month),
        &r.price_table,
        r.generated_at,
        &r.currency,
    );
    let _ = write!(
        h,
        r#"<div class="cards"><div class="card"><b>{total}</b>in all ({messages} messages)</div>
<div class="card"><b>{tenants}</b>requests of tenants</div>
<div class="card"><b>{unbilled}</b>billed to no tenant (refused, public routes)</div>
<div class="card"><b>{fixed}</b>fixed monthly lines (metrics, alarms, dashboard)</div></div>"#,
        total = dollars(r.total_nanos),
        messages = r.messages,
        tenants = dollars(r.tenants_nanos),
        unbilled = dollars(r.unbilled_nanos),
        fixed = dollars(r.fixed_nanos),
    );
    let tenants: Vec<[String; 4]> = r
        .by_tenant
        .iter()
        .map(|t| [esc(&t.tenant), dollars(t.nanos), dollars(t.fixed_share_nanos), t.messages.to_string()])
        .collect();
    table(&mut h, "By tenant", ["Tenant", "Requests", "Share of fixed lines", "Messages"], &tenants);
    bars(&mut h, "Spend per component", &r.by_component, r.ledger_nanos);
    bars(&mut h, "Spend per channel", &r.by_channel, r.tenants_nanos);
    let days: Vec<[String; 4]> = r
        .by_day
        .iter()
        .map(|d| [esc(&d.day), dollars(d.total_nanos), dollars(d.unbilled_nanos), d.messages.to_string()])
        .collect();
    table(&mut h, "By day", ["Day", "Total", "Billed to no tenant", "Messages"], &days);
    h.push_str("</main></body></html>\n");
    h
}

/// A section with a table: the first column text, the others numbers (right-aligned). The cells
/// arrive escaped.
fn table(h: &mut String, title: &str, head: [&str; 4], rows: &[[String; 4]]) {
    let _ = write!(h, "<section><h2>{}</h2><table><tr><th>{}</th>", esc(title), esc(head[0]));
    for name in &head[1..] {
        let _ = write!(h, r#"<th class="n">{}</th>"#, esc(name));
    }
    h.push_str("</tr>");
    for row in rows {
        let _ = write!(h, "<tr><td>{}</td>", row[0]);
        for cell in &row[1..] {
            let _ = write!(h, r#"<td class="n">{cell}</td>"#);
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></section>");
}

/// Renders the page. `pickers` adds the tenant and month form of `switchboard serve`'s `/costs`
/// (a plain GET form: still no script).
pub fn render(report: &CostReport, pickers: Option<&[String]>) -> String {
    let mut h = String::with_capacity(32 * 1024);
    open_page(
        &mut h,
        &format!("{} — {}", report.tenant, report.month),
        &format!("Costs of {} in {}", report.tenant, report.month),
        &report.price_table,
        report.generated_at,
        &report.currency,
    );
    if let Some(tenants) = pickers {
        h.push_str(r#"<form method="get" action="/costs"><label>Tenant <select name="tenant">"#);
        for t in tenants {
            let selected = if *t == report.tenant { " selected" } else { "" };
            let _ = write!(h, r#"<option value="{0}"{selected}>{0}</option>"#, esc(t));
        }
        let _ = write!(
            h,
            r#"</select></label> <label>Month <input type="month" name="month" value="{}"></label> <button>Show</button></form>"#,
            esc(&report.month)
        );
    }
    cards(&mut h, report);
    daily(&mut h, report);
    bars(&mut h, "Spend per channel", &report.by_channel, report.total_nanos);
    bars(&mut h, "Spend per intent", &report.by_intent, report.total_nanos);
    budget(&mut h, report);
    alternatives(&mut h, report);
    gaps(&mut h, report);
    satisfaction(&mut h, report);
    review(&mut h, report);
    h.push_str("</main></body></html>\n");
    h
}

fn cards(h: &mut String, r: &CostReport) {
    let state = r.budget.state.as_str();
    let budget = if r.budget.limit_nanos > 0 {
        format!(
            r#"<b class="state-{state}">{} of {}</b>budget: {state}"#,
            dollars(r.budget.used_nanos),
            dollars(r.budget.limit_nanos)
        )
    } else {
        "<b>—</b>no budget set".to_string()
    };
    let _ = write!(
        h,
        r#"<div class="cards"><div class="card"><b>{total}</b>spent this month</div>
<div class="card"><b>{per1000}</b>per 1,000 messages ({messages} messages)</div>
<div class="card"><b>{per_resolution}</b>per automated resolution ({resolutions})</div>
<div class="card">{budget}</div></div>"#,
        total = dollars(r.total_nanos),
        per1000 = money(r.per_1000_messages_usd),
        messages = r.messages,
        per_resolution = money(r.cost_per_resolution_usd),
        resolutions = r.automated_resolutions,
    );
    for (model, calls) in &r.unpriced_model_calls {
        let _ = write!(
            h,
            "<p class=\"warning\">Not in the total: {calls} hosted calls to <code>{}</code>, which the price table does not price.</p>",
            esc(model)
        );
    }
}

/// Spend per day, stacked by component.
fn daily(h: &mut String, r: &CostReport) {
    h.push_str("<section><h2>Spend per day, by component</h2>");
    let (width, height, left, bottom) = (960.0, 220.0, 70.0, 24.0);
    let max = r.by_day.iter().map(|d| d.total_nanos).max().unwrap_or(0).max(1) as f64;
    let days = r.by_day.len().max(1) as f64;
    let slot = (width - left) / days.max(28.0);
    let _ = write!(h, r#"<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="spend per day">"#);
    let _ = write!(
        h,
        r##"<text x="0" y="12" font-size="11" fill="#5d6675">{}</text><text x="0" y="{}" font-size="11" fill="#5d6675">$0</text>"##,
        dollars(max as u64),
        height - bottom
    );
    for (i, day) in r.by_day.iter().enumerate() {
        let x = left + i as f64 * slot;
        let mut y = height - bottom;
        for (component, colour) in COLOURS {
            let nanos = day.by_component.get(component).copied().unwrap_or(0);
            if nanos == 0 {
                continue;
            }
            let bar = nanos as f64 / max * (height - bottom - 16.0);
            y -= bar;
            let _ = write!(
                h,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{bar:.1}" fill="{colour}"><title>{} {component}: {}</title></rect>"#,
                slot * 0.8,
                esc(&day.day),
                dollars(nanos)
            );
        }
        let label = day.day.get(8..).unwrap_or("");
        let _ = write!(
            h,
            r##"<text x="{:.1}" y="{}" font-size="10" fill="#5d6675" text-anchor="middle">{}</text>"##,
            x + slot * 0.4,
            height - 8.0,
            esc(label)
        );
    }
    h.push_str("</svg><div class=\"legend\">");
    for (component, colour) in COLOURS {
        let nanos = r.by_component.get(component).copied().unwrap_or(0);
        let _ = write!(h, r#"<span><i style="background:{colour}"></i>{component} {}</span>"#, dollars(nanos));
    }
    h.push_str("</div></section>");
}

/// Horizontal bars of a breakdown.
fn bars(h: &mut String, title: &str, map: &std::collections::BTreeMap<String, u64>, total: u64) {
    let mut rows: Vec<(&String, &u64)> = map.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1));
    rows.truncate(12);
    let _ = write!(h, "<section><h2>{}</h2>", esc(title));
    if rows.is_empty() {
        h.push_str(r#"<p class="muted">Nothing yet.</p></section>"#);
        return;
    }
    let max = rows.first().map_or(1, |r| *r.1).max(1) as f64;
    let height = rows.len() as f64 * 24.0 + 4.0;
    let _ = write!(h, r#"<svg viewBox="0 0 960 {height}" width="100%" role="img" aria-label="{}">"#, esc(title));
    for (i, (name, nanos)) in rows.iter().enumerate() {
        let y = i as f64 * 24.0 + 4.0;
        let w = **nanos as f64 / max * 560.0;
        let share = if total > 0 { **nanos as f64 * 100.0 / total as f64 } else { 0.0 };
        let _ = write!(
            h,
            r##"<text x="0" y="{:.1}" font-size="13">{}</text><rect x="200" y="{y:.1}" width="{w:.1}" height="16" rx="3" fill="#3b6fb6"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#1d2330">{} ({share:.1} %)</text>"##,
            y + 13.0,
            esc(name),
            205.0 + w,
            y + 13.0,
            dollars(**nanos)
        );
    }
    h.push_str("</svg></section>");
}

/// Cumulative spend against the budget, with the forecast to month end.
fn budget(h: &mut String, r: &CostReport) {
    h.push_str("<section><h2>Budget burn</h2>");
    let b = &r.budget;
    let days_in_month = super::Month::parse(&r.month).map_or(31, |m| m.days());
    let top = b.limit_nanos.max(b.forecast_nanos).max(1) as f64;
    let (width, height, left) = (960.0, 200.0, 70.0);
    let x = |day: f64| left + day / f64::from(days_in_month) * (width - left - 10.0);
    let y = |nanos: f64| height - 20.0 - nanos / top * (height - 40.0);
    let _ = write!(h, r#"<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="budget burn">"#);
    let mut cumulative = 0u64;
    let mut points = format!("{:.1},{:.1}", x(0.0), y(0.0));
    let mut last_day = 0.0;
    for d in &r.by_day {
        cumulative += d.total_nanos;
        let day: f64 = d.day.get(8..).and_then(|s| s.parse().ok()).unwrap_or(0.0);
        last_day = day;
        let _ = write!(points, " {:.1},{:.1}", x(day), y(cumulative as f64));
    }
    let _ = write!(h, r##"<polyline points="{points}" fill="none" stroke="#3b6fb6" stroke-width="2.5"/>"##);
    let _ = write!(
        h,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#3b6fb6" stroke-width="2" stroke-dasharray="6 5"><title>forecast {}</title></line>"##,
        x(last_day),
        y(cumulative as f64),
        x(f64::from(days_in_month)),
        y(b.forecast_nanos as f64),
        dollars(b.forecast_nanos)
    );
    if b.limit_nanos > 0 {
        for (share, label, colour) in [(1.0, "budget", "#c53030"), (b.soft_at, "soft line", "#b7791f")] {
            let line = y(b.limit_nanos as f64 * share);
            let _ = write!(
                h,
                r#"<line x1="{left}" y1="{line:.1}" x2="{:.1}" y2="{line:.1}" stroke="{colour}" stroke-dasharray="3 3"/><text x="{:.1}" y="{:.1}" font-size="11" fill="{colour}" text-anchor="end">{label} {}</text>"#,
                width - 10.0,
                width - 12.0,
                line - 4.0,
                dollars((b.limit_nanos as f64 * share) as u64)
            );
        }
    }
    h.push_str("</svg>");
    let _ = write!(
        h,
        r#"<p>Spent {} so far; at this pace {} by month end. State: <b class="state-{s}">{s}</b>. Past the soft line the hosted model stops writing answers; past the budget it stops classifying. Templates, the FAQ and people never stop.</p>"#,
        dollars(b.used_nanos),
        dollars(b.forecast_nanos),
        s = b.state.as_str()
    );
    for a in &b.alerts {
        let _ = write!(
            h,
            r#"<div class="muted">Alert “{}” raised {}</div>"#,
            esc(&a.threshold),
            a.at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    h.push_str("</section>");
}

/// Cost per automated resolution beside the alternatives' published prices.
fn alternatives(h: &mut String, r: &CostReport) {
    h.push_str("<section><h2>Cost per automated resolution, beside the alternatives</h2><table><tr><th>Product</th><th>Published price</th><th class=n>This month's work there</th><th class=n>Per resolution</th></tr>");
    let _ = write!(
        h,
        r#"<tr><td><b>Switchboard</b> (this deployment)</td><td>measured</td><td class=n>{}</td><td class=n>{}</td></tr>"#,
        dollars(r.total_nanos),
        money(r.cost_per_resolution_usd)
    );
    for a in &r.alternatives {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{} <span class="muted">({})</span></td><td class=n>${:.2}</td><td class=n>${:.4}</td></tr>"#,
            esc(a.name),
            esc(a.price),
            esc(a.source),
            a.month_usd,
            a.per_resolution_usd
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        r#"<p class="muted">An automated resolution: a conversation with a bot answer after which, for 24 hours, the customer neither went to a person nor asked about the same thing again ({} of {} conversations; {} more answered in the last 24 hours, not counted yet).</p>"#,
        r.automated_resolutions, r.conversations, r.resolutions_pending
    );
    if let Some(s) = &r.savings {
        let _ = write!(
            h,
            r#"<p>At your cost of <b>${:.2}</b> per conversation handled by a person, the bot saved <b>${:.2}</b> this month.</p>"#,
            s.human_ticket_usd, s.saved_usd
        );
    }
    h.push_str("</section>");
}

/// The customers' ratings of the bot's answers, per intent.
fn satisfaction(h: &mut String, r: &CostReport) {
    h.push_str("<section><h2>What customers thought of the answers</h2>");
    let s = &r.satisfaction;
    let Some(csat) = s.csat else {
        h.push_str(r#"<p class="muted">No answer was rated yet (👍/👎 in the web chat, or a reply that is only 👍 or 👎 on the other channels).</p></section>"#);
        return;
    };
    let _ = write!(h, "<p><b>{:.0} %</b> of {} ratings were 👍.</p>", csat * 100.0, s.up + s.down);
    h.push_str("<table><tr><th>Intent</th><th class=n>👍</th><th class=n>👎</th><th class=n>CSAT</th></tr>");
    for (intent, (up, down)) in &s.by_intent {
        let share = *up as f64 * 100.0 / (*up + *down).max(1) as f64;
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=n>{up}</td><td class=n>{down}</td><td class=n>{share:.0} %</td></tr>",
            esc(intent)
        );
    }
    h.push_str("</table></section>");
}

/// The pilot's decisions to review: what the customer wrote, what the bot understood and what it
/// would have said (escaped: it is the customer's text).
fn review(h: &mut String, r: &CostReport) {
    h.push_str("<section><h2>Pilot decisions to review</h2>");
    if r.pilot_review.is_empty() {
        h.push_str(r#"<p class="muted">No intent is in shadow or assist, or none of their messages was sampled yet (rollout.review_share).</p></section>"#);
        return;
    }
    h.push_str("<p class=muted>A sample of the messages in intents the bot only shadows or drafts for: is what it would have done right? Newest first; kept as long as the conversation's turns.</p><table><tr><th>When</th><th>Mode</th><th>Intent</th><th>The customer wrote</th><th>The bot would have</th></tr>");
    for item in &r.pilot_review {
        let why = if item.reasons.is_empty() { String::new() } else { format!(" ({})", item.reasons.join(", ")) };
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td>{} <span class=muted>{:.2}</span></td><td>{}</td><td><b>{}</b>{}<br>{}</td></tr>"#,
            item.at.format("%Y-%m-%d %H:%M"),
            super::report::mode_name(item.mode),
            esc(item.intent.as_deref().unwrap_or("not recognised")),
            item.confidence,
            esc(&item.text),
            esc(&item.decision),
            esc(&why),
            esc(item.reply.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table></section>");
}

/// The FAQ entries worth writing next: the unanswered questions grouped, with the customers'
/// own words (escaped), then the counts by intent and language.
fn gaps(h: &mut String, r: &CostReport) {
    h.push_str("<section><h2>FAQ entries worth writing next</h2>");
    if !r.unanswered.is_empty() {
        h.push_str("<p class=muted>Questions handed to a person because the bot had no answer it trusted, grouped by what they ask, most asked first.</p><table><tr><th class=n>Asked</th><th>About</th><th>In the customers' words</th><th>Intent</th></tr>");
        for g in r.unanswered.iter().take(15) {
            let examples: Vec<String> = g.examples.iter().map(|e| esc(e)).collect();
            let _ = write!(
                h,
                "<tr><td class=n>{}</td><td>{}</td><td>{}</td><td>{} <span class=muted>{}</span></td></tr>",
                g.count,
                esc(&g.words.join(", ")),
                examples.join("<br>"),
                esc(&g.intents.join(", ")),
                esc(&g.languages.join(", "))
            );
        }
        h.push_str("</table>");
    }
    if r.faq_gaps.is_empty() {
        h.push_str(r#"<p class="muted">No message went to a person for lack of an answer.</p></section>"#);
        return;
    }
    h.push_str("<p class=muted>Messages that went to a person because no answer existed, by intent and language.</p><table><tr><th>Intent</th><th>Language</th><th class=n>Messages</th></tr>");
    for g in r.faq_gaps.iter().take(15) {
        let _ =
            write!(h, "<tr><td>{}</td><td>{}</td><td class=n>{}</td></tr>", esc(&g.intent), esc(&g.language), g.count);
    }
    h.push_str("</table></section>");
}
