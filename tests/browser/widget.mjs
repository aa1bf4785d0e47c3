// The widget a business pastes into its site, in headless Chromium, on a page served from
// another origin than the API with a strict Content-Security-Policy: one <script> tag, a chat
// that is answered, kept across page loads, handed to a person whose replies show; and a site
// the tenant does not list gets nothing. Usage: BASE=http://127.0.0.1:PORT node widget.mjs
import http from "node:http";
import { base, check, finish, launch } from "./harness.mjs";

const screenshot = process.env.SCREENSHOT || "browser-widget.png";

// The shop's page: nothing allowed but the widget's script and its calls to the API.
const csp = [`default-src 'none'`, `script-src ${base}`, `connect-src ${base}`, `style-src 'none'`,
  `img-src 'none'`, `base-uri 'none'`, `form-action 'none'`].join("; ");
const site = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": csp });
  res.end(`<!doctype html><html><head><title>A shop</title></head><body><h1>A shop</h1>
<script src="${base}/v1/demo/widget.js" data-title="Demo shop"></script></body></html>`);
});
await new Promise(resolve => site.listen(0, "::", resolve));
const port = site.address().port;
const listed = `http://localhost:${port}`;    // the demo tenant lists http://localhost:*
const unlisted = `http://127.0.0.2:${port}`;  // another site

const browser = await launch();

const widget = "[data-switchboard=widget]";
async function ask(page, text) {
  const before = await page.locator(`${widget} [data-role]:not([data-role=customer])`).count();
  await page.fill(`${widget} input`, text);
  await page.press(`${widget} input`, "Enter");
  const reply = page.locator(`${widget} [data-role]:not([data-role=customer])`).nth(before);
  await reply.waitFor({ timeout: 15000 });
  return reply.innerText();
}

try {
  const context = await browser.newContext();
  // Every CSP violation on the page is recorded before any script runs.
  await context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", e => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", e => errors.push(e.message));
  await page.goto(`${listed}/`);

  await check("one script tag opens a chat on another origin's page and it is answered", async () => {
    await page.click(`${widget} button[aria-expanded]`);
    const answer = await ask(page, "What are your opening hours?");
    if (!answer.includes("Monday to Friday")) throw new Error(`unexpected answer: ${answer}`);
  });

  await check("the conversation and its read token survive a page load", async () => {
    const stored = await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.startsWith("switchboard:")));
    if (!stored || !JSON.parse(stored[1]).token) throw new Error(`nothing stored: ${stored}`);
    await page.reload();
    await page.click(`${widget} button[aria-expanded]`);
    await page.locator(`${widget} [data-role=bot]`, { hasText: "Monday to Friday" }).waitFor({ timeout: 15000 });
    await page.locator(`${widget} [data-role=customer]`, { hasText: "opening hours" }).waitFor({ timeout: 5000 });
  });

  await check("asking for a person shows the handoff, and the agent's reply arrives", async () => {
    await ask(page, "I want to talk to a human");
    await page.locator(`${widget} [data-switchboard=state][data-state=human]`).waitFor({ timeout: 25000 });
    const conversation = await page.evaluate(() =>
      JSON.parse(Object.entries(localStorage).find(([k]) => k.startsWith("switchboard:"))[1]).conversation);
    const r = await fetch(`${base}/local/conversations/demo/${conversation}/agent-reply`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "Hi, this is Sam from the team." }),
    });
    if (!r.ok) throw new Error(`agent reply: ${r.status} ${await r.text()}`);
    await page.locator(`${widget} [data-role=agent]`, { hasText: "Sam" }).waitFor({ timeout: 40000 });
  });

  await check("the strict Content-Security-Policy is never violated", async () => {
    const violations = await page.evaluate(() => window.__violations);
    if (violations.length || errors.length) throw new Error(`violations ${violations}; errors ${errors}`);
  });
  await page.screenshot({ path: screenshot, fullPage: true });

  await check("a site the tenant does not list cannot chat", async () => {
    const other = await context.newPage();
    await other.goto(`${unlisted}/`);
    await other.click(`${widget} button[aria-expanded]`);
    await other.fill(`${widget} input`, "What are your opening hours?");
    await other.press(`${widget} input`, "Enter");
    await other.locator(`${widget} [data-switchboard=error]`, { hasText: /./ }).waitFor({ timeout: 15000 });
    if (await other.locator(`${widget} [data-role]`).count()) throw new Error("a message was shown");
    const preflight = await fetch(`${base}/v1/demo/webchat/messages`, {
      method: "OPTIONS", headers: { origin: unlisted, "access-control-request-method": "POST" },
    });
    if (preflight.status !== 403) throw new Error(`preflight from ${unlisted}: ${preflight.status}`);
  });
} finally {
  await browser.close();
  site.close();
}
finish("browser");
