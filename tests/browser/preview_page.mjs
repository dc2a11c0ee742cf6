// Drive the `newsletter preview --serve` page in real headless Chromium.
//
//   node tests/browser/preview_page.mjs URL ARTICLE OUTDIR
//
// Clicks each view and measures what shows (the email frame's width, the text and
// headers panels); saves a screenshot of each view into OUTDIR; then edits ARTICLE
// (replaces its first line) and waits for the page to show the change by itself,
// without a reload. Prints one JSON document; judging it is the pytest test's job
// (tests/test_preview_page.py). Only the preview server is reached.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const [url, article, out] = process.argv.slice(2);
const CHROMIUM = process.env.NEWSLETTER_CHROMIUM || "/usr/bin/chromium";
const origin = new URL(url).origin;

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const result = { views: {}, screenshots: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await page.route("**/*", (route) =>
    route.request().url().startsWith(origin) ? route.continue() : route.abort());
  await page.goto(url);
  await page.waitForFunction(() => Number(document.body.dataset.version) >= 1);
  const firstVersion = await page.evaluate(() => Number(document.body.dataset.version));
  for (const view of ["desktop", "phone", "dark", "text", "headers"]) {
    await page.click(`nav button[data-view="${view}"]`);
    await page.waitForTimeout(300); // the frame's transition and load
    const frame = await page.$("iframe#email");
    const box = await frame.boundingBox();
    const inner = await (await frame.contentFrame()).evaluate(() => ({
      text: document.body ? document.body.innerText.slice(0, 2000) : "",
      bodyBackground: getComputedStyle(document.querySelector("table") || document.body)
        .backgroundColor,
    }));
    result.views[view] = {
      pressed: await page.getAttribute(`nav button[data-view="${view}"]`, "aria-pressed"),
      frameWidth: box ? Math.round(box.width) : 0,
      frameText: inner.text,
      frameBackground: inner.bodyBackground,
      textShown: await page.isVisible("#text"),
      text: await page.textContent("#text-body"),
      headersShown: await page.isVisible("#headers"),
      headers: await page.$$eval("#header-rows dt", (names) =>
        names.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
      hash: await page.evaluate(() => location.hash),
    };
    const file = path.join(out, `preview-${view}.png`);
    await page.screenshot({ path: file, fullPage: false });
    result.screenshots.push(file);
  }
  await page.click('nav button[data-view="desktop"]');
  for (const width of [375, 600]) {
    for (const colorScheme of ["light", "dark"]) {
      await page.setViewportSize({ width, height: 800 });
      await page.emulateMedia({ colorScheme });
      await page.waitForTimeout(300);
      const file = path.join(out, `preview-page-${width}-${colorScheme}.png`);
      await page.screenshot({ path: file });
      result.screenshots.push(file);
      result[`scroll${width}${colorScheme}`] = await page.evaluate(
        () => document.documentElement.scrollWidth);
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1000, height: 900 });
  await page.evaluate(() => { window.notReloaded = true; });
  // Edit the article on disk; the page must update by itself.
  const text = fs.readFileSync(article, "utf8");
  const lines = text.split("\n");
  lines[0] = "Edited While Watching";
  const started = Date.now();
  fs.writeFileSync(article, lines.join("\n"));
  await page.waitForFunction(
    (v) => Number(document.body.dataset.version) > v, firstVersion, { timeout: 15000 });
  await page.waitForFunction(() => document.querySelector("#subject").textContent
    .startsWith("Edited While Watching"), null, { timeout: 15000 });
  const frame = await (await page.$("iframe#email")).contentFrame();
  await frame.waitForFunction(() => document.body.innerText.includes("Edited While Watching"),
    null, { timeout: 15000 });
  result.updateMs = Date.now() - started;
  result.reloaded = !(await page.evaluate(() => window.notReloaded === true));
  result.subjectAfter = await page.textContent("#subject");
  result.stillHash = await page.evaluate(() => location.hash);
  const file = path.join(out, "preview-after-edit.png");
  await page.screenshot({ path: file });
  result.screenshots.push(file);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
