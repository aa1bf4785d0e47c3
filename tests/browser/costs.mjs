// The cost report page of `switchboard serve`, after chat.mjs has run traffic through it: it
// opens in headless Chromium, loads nothing from anywhere else, runs no script, draws its
// charts, and its figures agree with the JSON. Usage: BASE=http://127.0.0.1:PORT node costs.mjs
import { base, check, finish, launch } from "./harness.mjs";

const screenshot = process.env.SCREENSHOT || "browser-costs.png";

const browser = await launch();

try {
  const page = await browser.newPage();
  const requested = [];
  page.on("request", (r) => requested.push(r.url()));
  await page.goto(`${base}/costs?tenant=demo`);
  const report = await (await fetch(`${base}/local/costs/demo`)).json();

  await check("the page is self-contained: one request, no script", async () => {
    const elsewhere = requested.filter((u) => !u.startsWith(base));
    if (elsewhere.length) throw new Error(`loaded from elsewhere: ${elsewhere}`);
    if (requested.length !== 1) throw new Error(`expected one request, got ${requested}`);
    if (await page.locator("script").count()) throw new Error("the page has a script");
  });

  await check("the charts are drawn from the traffic", async () => {
    const charts = await page.locator("svg").count();
    if (charts < 4) throw new Error(`expected at least 4 charts, got ${charts}`);
    const bars = await page.locator("svg rect").count();
    if (bars < 3) throw new Error(`expected bars, got ${bars}`);
    if (report.messages < 3) throw new Error(`expected the chat's messages, got ${report.messages}`);
  });

  await check("the page shows the JSON's total and the alternatives", async () => {
    const text = await page.locator("main").innerText();
    const total = report.total_nanos / 1e9;
    const shown = total < 0.01 ? `$${total.toFixed(6)}` : `$${total.toFixed(2)}`;
    if (!text.includes(shown)) throw new Error(`total ${shown} not on the page`);
    for (const name of ["Intercom Fin", "Zendesk AI agents", "HubSpot Breeze customer agent", "Amazon Lex V2", "Amazon Connect chat"]) {
      if (!text.includes(name)) throw new Error(`${name} missing`);
    }
  });

  await check("the month picker asks for another month", async () => {
    await page.fill("input[name=month]", "2025-01");
    await page.click("form button");
    await page.waitForURL(/month=2025-01/);
    const text = await page.locator("main").innerText();
    if (!text.includes("Costs of demo in 2025-01")) throw new Error("the picked month is not shown");
  });

  await page.goto(`${base}/costs?tenant=demo`);
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
finish("browser (costs)");
