// What every browser check shares: the server's URL, headless Chromium (Debian's package), and
// named checks that are counted and reported in one closing line.
import { chromium } from "playwright-core";

export const base = process.env.BASE;
if (!base) { console.error("set BASE to the server's URL"); process.exit(2); }

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

let passed = 0, failed = 0;

export async function check(name, fn) {
  try { await fn(); passed++; console.log(`ok - ${name}`); }
  catch (e) { failed++; console.log(`FAILED - ${name}: ${e.message}`); }
}

// Prints the closing line and exits non-zero if any check failed.
export function finish(label) {
  console.log(`${label}: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
