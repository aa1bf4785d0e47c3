//! The forecast as people read it: a table for a terminal and one self-contained page.

use crate::forecast::Forecast;

/// The forecast as one self-contained page: cards, a bar per intent (resolved by the bot,
/// handed to people, shadowed, the rest), the recommendations, and the month beside the
/// alternatives. Every text escaped.
pub fn html(f: &Forecast) -> String {
    use std::fmt::Write;
    let esc = switchboard::cost::html::esc;
    let pct = |x: f64| format!("{:.1} %", x * 100.0);
    let o = &f.overall;
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Forecast — {tenant}</title><style>
body{{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}}main{{max-width:1040px;margin:0 auto;padding:24px}}
section{{background:#fff;border-radius:8px;padding:14px 16px;margin-top:14px}}.cards{{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}}
.card{{background:#fff;border-radius:8px;padding:12px 14px}}.card b{{display:block;font-size:22px}}.muted{{color:#5d6675;font-size:13px}}
table{{border-collapse:collapse;width:100%}}td,th{{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;font-size:14px}}td.n{{text-align:right}}
</style></head><body><main><h1>What the bot would do for {tenant}</h1>
<p class="muted">{replayed} past messages replayed through the tenant's pipeline. Wrong answers: {basis}.</p>
<div class="cards"><div class="card"><b>{resolved}</b>resolved by the bot</div><div class="card"><b>{wrong}</b>of its answers likely wrong</div>
<div class="card"><b>{people}</b>handed to people</div><div class="card"><b>${cost:.2}</b>a month of {volume} messages, all in</div></div>"#,
        tenant = esc(&f.tenant),
        replayed = f.replayed,
        basis = esc(o.wrong_basis),
        resolved = pct(o.resolved),
        wrong = pct(o.wrong),
        people = pct(o.to_people),
        cost = f.month.cost_usd,
        volume = f.month.messages,
    );
    h.push_str("<section><h2>Per intent</h2><table><tr><th>Intent</th><th class=n>Messages</th><th>Outcome</th><th>Start in</th></tr>");
    for (intent, s) in &f.by_intent {
        let parts = [(s.resolved, "#2f9e6e"), (s.to_people, "#d64545"), (s.shadowed, "#8c8c8c")];
        let mut bar = String::from(r#"<svg width="240" height="12" role="img">"#);
        let mut x = 0.0;
        for (share, colour) in parts {
            let w = share * 240.0;
            let _ = write!(bar, r#"<rect x="{x:.1}" y="0" width="{w:.1}" height="12" fill="{colour}"/>"#);
            x += w;
        }
        bar.push_str("</svg>");
        let advice = f.recommended.get(intent).map_or_else(String::new, |r| match r.min_confidence {
            Some(t) => format!("{} (threshold {t:.2})", r.mode),
            None => r.mode.to_string(),
        });
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=n>{}</td><td>{bar} <span class=muted>{} resolved, {} to people</span></td><td>{}</td></tr>",
            esc(intent),
            s.messages,
            pct(s.resolved),
            pct(s.to_people),
            esc(&advice)
        );
    }
    h.push_str("</table></section><section><h2>A month beside the alternatives</h2><table>");
    let _ = write!(
        h,
        "<tr><td>Switchboard</td><td class=n>${:.2}</td><td class=muted>AWS and channels as replayed, hosted model at {}</td></tr>",
        f.month.cost_usd,
        esc(&f.month.priced_model)
    );
    for a in &f.month.alternatives {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=n>${:.2}</td><td class=muted>{}, as of {} ({})</td></tr>",
            esc(a.name),
            a.month_usd,
            esc(a.price),
            esc(a.as_of),
            esc(a.source)
        );
    }
    h.push_str("</table></section></main></body></html>\n");
    h
}

/// The forecast for a person.
pub fn table(f: &Forecast) -> String {
    let pct = |x: f64| format!("{:.1} %", x * 100.0);
    let mut out =
        format!("Forecast for {} from {} past messages ({})\n\n", f.tenant, f.replayed, f.overall.wrong_basis);
    out.push_str(&format!(
        "resolved by the bot {}   its answers likely wrong {}   to people {}   shadowed {}   hosted model {}\n\n",
        pct(f.overall.resolved),
        pct(f.overall.wrong),
        pct(f.overall.to_people),
        pct(f.overall.shadowed),
        pct(f.overall.hosted)
    ));
    out.push_str(&format!(
        "{:<24} {:>6} {:>9} {:>7} {:>8} {:>7}   threshold for ≤ {} wrong, start in\n",
        "intent",
        "msgs",
        "resolved",
        "wrong",
        "people",
        "hosted",
        pct(f.target_wrong)
    ));
    for (intent, s) in &f.by_intent {
        // `~`: too few labelled answers in this intent to measure; estimated from confidence.
        let estimated = if s.wrong_basis == f.overall.wrong_basis { "" } else { "~" };
        let advice = f.recommended.get(intent).map_or_else(String::new, |r| match r.min_confidence {
            Some(t) => format!("{t:.2} (keeps {}), {}", pct(r.keeps), r.mode),
            None => format!("none, {}", r.mode),
        });
        out.push_str(&format!(
            "{intent:<24} {:>6} {:>9} {:>7} {:>8} {:>7}   {advice}\n",
            s.messages,
            pct(s.resolved),
            format!("{estimated}{}", pct(s.wrong)),
            pct(s.to_people),
            pct(s.hosted)
        ));
    }
    let m = &f.month;
    let money = |usd: f64| if usd < 1.0 { format!("${usd:.4}") } else { format!("${usd:.2}") };
    out.push_str(&format!(
        "\nA month of {} messages: {} resolved by the bot, {} all in (hosted model {} at {}), {} per resolution\n",
        m.messages,
        m.resolved,
        money(m.cost_usd),
        money(m.hosted_model_usd),
        m.priced_model,
        money(m.per_resolution_usd)
    ));
    for a in &m.alternatives {
        out.push_str(&format!(
            "  {:<22} ${:>10.2}  ({}, as of {}; {})\n",
            a.name, a.month_usd, a.price, a.as_of, a.source
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table and the page of a forecast on the fixture: readable, self-contained.
    #[tokio::test]
    async fn a_forecast_reads_as_a_table_and_a_page() {
        let (dir, file) = crate::knowledge::scratch_tenant("forecast-view");
        let history = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/history/forecast.csv");
        let f = crate::forecast::forecast(
            &file,
            &history,
            None,
            Some(10_000),
            "anthropic.claude-3-haiku-20240307-v1:0",
            0.02,
        )
        .await
        .unwrap();
        assert!(table(&f).contains("resolved by the bot"));
        let page = html(&f);
        assert!(
            page.contains("<svg") && page.contains("Intercom Fin") && !page.contains("<script"),
            "a self-contained page"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
