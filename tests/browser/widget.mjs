// The widget a business pastes into its site, in headless Chromium, on a page served from
// another origin than the API with a strict Content-Security-Policy: one <script> tag, a chat
// that is answered, kept across page loads, handed to a person whose replies show; and a site
// the tenant does not list gets nothing. Usage: BASE=http://127.0.0.1:PORT node widget.mjs
import crypto from "node:crypto";
import http from "node:http";
import { base, check, finish, launch } from "./harness.mjs";

const screenshot = process.env.SCREENSHOT || "browser-widget.png";

// The shop's page: nothing allowed but the widget's script and its calls to the API.
const csp = [`default-src 'none'`, `script-src ${base}`, `connect-src ${base}`, `style-src 'none'`,
  `img-src 'none'`, `base-uri 'none'`, `form-action 'none'`].join("; ");
// `/?customer=ID` is the page of a signed-in customer: the shop signs the id and an expiry an
// hour ahead with the demo tenant's identity secret, as docs/onboarding.md tells a shop to.
const identitySecret = "demo-identity-secret-change-me";
const site = http.createServer((req, res) => {
  const customer = new URL(req.url, "http://site").searchParams.get("customer");
  let signedIn = "";
  if (customer) {
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const signature = crypto.createHmac("sha256", identitySecret).update(`${customer}|${expires}`).digest("hex");
    signedIn = ` data-customer-id="${customer}" data-expires="${expires}" data-signature="${signature}"`;
  }
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": csp });
  res.end(`<!doctype html><html><head><title>A shop</title></head><body><h1>A shop</h1>
<script src="${base}/v1/demo/widget.js" data-title="Demo shop"${signedIn}></script></body></html>`);
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

  await check("a 👎 on an answer hands the chat to a person", async () => {
    const rating = await browser.newContext();
    const page = await rating.newPage();
    await page.goto(`${listed}/`);
    await page.click(`${widget} button[aria-expanded]`);
    await ask(page, "What are your opening hours?");
    await page.click(`${widget} [data-role=bot] button[data-rating=down]`);
    await page.locator(`${widget} [data-switchboard=state][data-state=human]`).waitFor({ timeout: 25000 });
    await page.locator(`${widget} [data-role=customer]`, { hasText: "👎" }).waitFor({ timeout: 5000 });
    if (await page.locator(`${widget} button[data-rating]`).count()) {
      throw new Error("rating buttons left while a person owns the chat");
    }
    await rating.close();
  });

  await check("a signed-in customer's conversation is not shown to the next person on the browser", async () => {
    const shared = await browser.newContext();
    const page = await shared.newPage();
    const stored = () => page.evaluate(() =>
      JSON.parse(Object.entries(localStorage).find(([k]) => k.startsWith("switchboard:"))[1]));
    await page.goto(`${listed}/?customer=c-1002`);
    await page.click(`${widget} button[aria-expanded]`);
    const personal = await ask(page, "Where is my order?");
    if (!personal.includes("DS-20502")) throw new Error(`not personal: ${personal}`);
    const theirs = await stored();
    // The customer logs out; the next person opens the same shop in the same browser.
    await page.goto(`${listed}/`);
    await page.click(`${widget} button[aria-expanded]`);
    const left = await stored();
    if (left.token || left.conversation || left.visitor === theirs.visitor) throw new Error(`kept: ${JSON.stringify(left)}`);
    await page.waitForTimeout(1500);
    if (await page.locator(`${widget} [data-role]`).count()) throw new Error("the customer's transcript was shown");
    const anonymous = await ask(page, "Where is my order?");
    if (anonymous.includes("DS-20502")) throw new Error(`someone else's order: ${anonymous}`);
    if ((await stored()).conversation === theirs.conversation) throw new Error("the same conversation");
    // And the customer's conversation, even with its stored ids, is not continued anonymously.
    const r = await fetch(`${base}/v1/demo/webchat/messages`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ visitor_id: theirs.visitor, conversation_id: theirs.conversation, text: "my address?" }),
    });
    if (r.status !== 403) throw new Error(`continued without the identity: ${r.status}`);
    await shared.close();
  });

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
