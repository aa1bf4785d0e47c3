// The chat page of `switchboard serve`, driven in headless Chromium like a person would:
// type a question, press Send, read the answer. Usage: BASE=http://127.0.0.1:PORT node chat.mjs
import { base, check, finish, launch } from "./harness.mjs";

const screenshot = process.env.SCREENSHOT || "browser-check.png";

const browser = await launch();

async function ask(page, text) {
  const before = await page.locator(".msg:not(.customer)").count();
  await page.fill("#text", text);
  await page.click("form#send button[type=submit]");
  await page.locator(".msg.customer", { hasText: text }).waitFor({ timeout: 15000 });
  await page.locator(".msg:not(.customer)").nth(before).waitFor({ timeout: 15000 });
  return page.locator(".msg:not(.customer)").nth(before).innerText();
}

try {
  const page = await browser.newPage();
  await page.goto(`${base}/?tenant=demo`);

  await check("an anonymous visitor's question is answered", async () => {
    const answer = await ask(page, "What are your opening hours?");
    if (!answer.includes("Monday to Friday")) throw new Error(`unexpected answer: ${answer}`);
  });

  await check("a signed-in customer gets a personal answer in their language", async () => {
    await page.selectOption("#who", "c-1001");
    await page.waitForFunction(() => document.querySelectorAll(".msg").length === 0);
    await page.waitForTimeout(300);
    const answer = await ask(page, "¿Dónde está mi pedido?");
    if (!answer.includes("Ana") || !answer.includes("DS-20417")) throw new Error(`unexpected answer: ${answer}`);
  });

  await check("asking for a person hands the conversation over", async () => {
    const notice = await ask(page, "Quiero hablar con una persona");
    if (!notice.includes("equipo")) throw new Error(`unexpected notice: ${notice}`);
    await page.waitForFunction(() => document.getElementById("state").textContent.includes("person"), null, { timeout: 25000 });
    const escalations = await (await fetch(`${base}/local/escalations`)).json();
    if (escalations.length !== 1) throw new Error(`expected 1 escalation, got ${escalations.length}`);
  });

  await check("a conversation is not readable without its token", async () => {
    const id = await page.evaluate(() => conversation);
    const r = await fetch(`${base}/v1/demo/webchat/conversations/${id}/messages?wait=0`);
    if (r.status !== 404) throw new Error(`expected 404, got ${r.status}`);
  });

  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
finish("browser");
