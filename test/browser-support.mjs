// A real browser for the dashboard's end-to-end tests: Debian's Chromium driven by playwright-core (never a browser
// Playwright downloads), headless, with its background networking off so it talks to nothing but the page's server.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { ROOT } from "./sim-support.mjs";

export const CHROMIUM = "/usr/bin/chromium";
/** Where the browser tests leave a screenshot of each step (docs/dashboard.md names this folder). */
export const SCREENSHOTS = path.join(ROOT, "test-output/dashboard");

export async function openBrowser(t) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Debian's Chromium is missing (${CHROMIUM}): npm run setup installs it`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions"],
  });
  t.after(() => browser.close());
  return browser;
}

/** A page whose script errors and failed requests fail the test that reads `page.problems`. */
export async function openPage(t, browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push(`script error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") page.problems.push(`console: ${m.text()}`); });
  await page.goto(url);
  return page;
}

/** Resolves with the text of `locator` once it matches `want` (a RegExp or a predicate), polling for at most `ms`. */
export async function textMatching(locator, want, ms = 15000) {
  const end = Date.now() + ms;
  const ok = typeof want === "function" ? want : (text) => want.test(text);
  let text = "";
  for (;;) {
    text = (await locator.count()) ? await locator.first().innerText() : "";
    if (ok(text)) return text;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${want} in ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
