// A reader signs up in real headless Chromium (tests/test_signup_browser.py).
//
//   node tests/browser/signup_page.mjs fill URL EMAIL NAME OUTDIR
//       opens the form at URL, fills the address and the name, presses Subscribe
//   node tests/browser/signup_page.mjs confirm LINK OUTDIR
//       opens the confirmation link (its GET), then presses the page's button
//
// Each saves screenshots at 375 and 600 px, light and dark, and prints one JSON
// document of what the pages said (their headings, texts, buttons, the widest
// scroll at each width);
// judging it is the pytest test's job. Only the endpoint is reached.
import path from "node:path";
import { chromium } from "playwright-core";

const [step, url, ...rest] = process.argv.slice(2);
const CHROMIUM = process.env.NEWSLETTER_CHROMIUM || "/usr/bin/chromium";
const origin = new URL(url).origin;

async function shots(page, out, name, result) {
  for (const width of [375, 600]) {
    for (const colorScheme of ["light", "dark"]) {
      await page.setViewportSize({ width, height: 800 });
      await page.emulateMedia({ colorScheme });
      const file = path.join(out, `${name}-${width}-${colorScheme}.png`);
      await page.screenshot({ path: file, fullPage: true });
      result.screenshots.push(file);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      result.scroll[width] = Math.max(result.scroll[width] || 0, wide);
    }
  }
  await page.setViewportSize({ width: 600, height: 800 });
}

async function said(page) {
  return {
    heading: await page.textContent("h1"),
    text: await page.evaluate(() => document.querySelector("main").innerText),
    buttons: await page.$$eval("button", (all) => all.map((b) => b.textContent)),
  };
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const result = { screenshots: [], scroll: {}, pages: [] };
try {
  const page = await browser.newPage({ viewport: { width: 600, height: 800 } });
  await page.route("**/*", (route) =>
    route.request().url().startsWith(origin) ? route.continue() : route.abort());
  if (step === "fill") {
    const [email, name, out] = rest;
    await page.goto(url);
    result.pages.push(await said(page));
    result.labels = await page.$$eval("label", (all) =>
      all.filter((l) => l.getBoundingClientRect().right > 0).map((l) => l.textContent));
    await shots(page, out, "signup", result);
    await page.getByLabel("Email address").fill(email);
    await page.getByLabel("Name").fill(name);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    result.pages.push(await said(page));
    await shots(page, out, "signup-sent", result);
  } else {
    const [out] = rest;
    await page.goto(url);
    result.pages.push(await said(page));
    await shots(page, out, "confirm", result);
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    result.pages.push(await said(page));
    await shots(page, out, "confirmed", result);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
