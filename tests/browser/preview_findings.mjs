// The `newsletter preview --serve` page's check panel and headers view, in real
// headless Chromium.
//
//   node tests/browser/preview_findings.mjs URL ARTICLE FIXED OUTDIR
//
// At 1200, 600 and 375 px wide: where the check panel is against the email (beside
// it or above it), what it lists (severity, rule, message, as text: any element in
// it that the page did not make is counted), and whether the page scrolls sideways.
// In the headers view at 375 and 600 px: every piece of every header value (the text
// between spaces and after / & ? = , ;, where a break is allowed) that the browser
// laid out over more than one line (measured with Range client rects), which values
// scroll in their own box, and what copying each value gives. Screenshots of each
// width, light and dark (emulated prefers-color-scheme), into OUTDIR as
// findings-WIDTH-SCHEME.png and headers-WIDTH.png. Then writes the contents of the
// file FIXED over ARTICLE and waits for the panel to follow by itself (no reload),
// and takes clean-WIDTH-SCHEME.png; then breaks ARTICLE's front matter and measures
// the render error and the panel (error-WIDTH-light.png). Prints one JSON document; judging it is the
// pytest test's job (tests/test_preview_page.py); scripts/screenshots.py keeps two of
// the pictures for the README (with NEWSLETTER_SHOT_TIME set, the page's clock shows
// that time, in UTC). Only the preview server is reached; images get a placeholder.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const [url, article, fixed, out] = process.argv.slice(2);
const CHROMIUM = process.env.NEWSLETTER_CHROMIUM || "/usr/bin/chromium";
const origin = new URL(url).origin;
const MADE = ["LI", "SPAN", "CODE", "P", "WBR"]; // what the page puts in the list
const SHOT_TIME = process.env.NEWSLETTER_SHOT_TIME;
const PLACEHOLDER = `<svg xmlns="http://www.w3.org/2000/svg" width="1072" height="603">
<rect width="1072" height="603" fill="#9ca3af"/></svg>`;

// Runs in the page: the check panel's place and contents.
function panel(made) {
  const aside = document.querySelector("#findings");
  const frame = document.querySelector(".frame");
  if (!aside) return { present: false };
  const a = aside.getBoundingClientRect();
  const f = frame.getBoundingClientRect();
  const list = aside.querySelector("ol") || aside;
  return {
    present: true,
    visible: a.width > 0 && a.height > 0,
    beside: a.left >= f.right - 1,
    above: a.bottom <= f.top + 1,
    summary: (aside.querySelector("summary") || aside).textContent.trim(),
    note: (aside.querySelector("#findings-note") || {}).textContent || "",
    findings: [...list.querySelectorAll("li")].map((li) => ({
      severity: li.querySelector(".severity").textContent,
      rule: li.querySelector(".rule").textContent,
      message: li.querySelector(".message").textContent,
    })),
    foreign: [...list.querySelectorAll("*")].filter((e) => !made.includes(e.tagName))
      .map((e) => e.tagName),
    scrollWidth: document.documentElement.scrollWidth,
    title: document.title,
  };
}

// Runs in the page: the headers view's values, measured.
function headers() {
  const values = [...document.querySelectorAll("#headers td, #headers dd")];
  const split = [];
  const result = values.map((el) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const nodes = [];
    let text = "";
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      nodes.push({ node: n, start: text.length });
      text += n.data;
    }
    const locate = (offset, end) => {
      const i = nodes.findLastIndex((n) => (end ? n.start < offset : n.start <= offset));
      return [nodes[i].node, offset - nodes[i].start];
    };
    for (const m of text.matchAll(/[^\s/&?=,;]+[/&?=,;]*|[/&?=,;]+/g)) {
      const range = document.createRange();
      range.setStart(...locate(m.index, false));
      range.setEnd(...locate(m.index + m[0].length, true));
      const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0)
        .map((r) => Math.round(r.top)));
      if (tops.size > 1) split.push(m[0]);
    }
    const selection = window.getSelection();
    selection.selectAllChildren(el);
    const copied = selection.toString();
    selection.removeAllRanges();
    return {
      name: el.previousElementSibling ? el.previousElementSibling.textContent : "",
      copied,
      overflows: el.scrollWidth > el.clientWidth,
      scrolls: ["auto", "scroll"].includes(getComputedStyle(el).overflowX),
    };
  });
  return { values: result, split, scrollWidth: document.documentElement.scrollWidth };
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const result = { panels: {}, headers: {}, clean: {}, screenshots: [] };
const shot = async (page, name) => {
  const file = path.join(out, `${name}.png`);
  await page.screenshot({ path: file });
  result.screenshots.push(file);
};
try {
  const page = await browser.newPage({
    viewport: { width: 1200, height: 900 }, timezoneId: "UTC" });
  if (SHOT_TIME) await page.clock.setFixedTime(new Date(SHOT_TIME));
  await page.route("**/*", (route) => {
    if (route.request().url().startsWith(origin)) return route.continue();
    if (route.request().resourceType() === "image") {
      return route.fulfill({ contentType: "image/svg+xml", body: PLACEHOLDER });
    }
    return route.abort();
  });
  await page.goto(url);
  await page.waitForFunction(() => Number(document.body.dataset.version) >= 1);
  await page.waitForTimeout(300);
  result.panels[1200] = await page.evaluate(panel, MADE);
  await shot(page, "findings-1200-light");
  for (const width of [600, 375]) {
    for (const colorScheme of ["light", "dark"]) {
      await page.setViewportSize({ width, height: 900 });
      await page.emulateMedia({ colorScheme });
      await page.waitForTimeout(300);
      result.panels[`${width}-${colorScheme}`] = await page.evaluate(panel, MADE);
      await shot(page, `findings-${width}-${colorScheme}`);
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.click('nav button[data-view="headers"]');
  for (const width of [375, 600]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(200);
    result.headers[width] = await page.evaluate(headers);
    await page.evaluate(() => document.querySelector("#headers").scrollIntoView());
    await shot(page, `headers-${width}`);
  }
  await page.click('nav button[data-view="desktop"]');
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.evaluate(() => { window.notReloaded = true; });
  const before = Number(await page.evaluate(() => document.body.dataset.version));
  const summary = await page.textContent("#findings summary");
  const started = Date.now();
  fs.writeFileSync(article, fs.readFileSync(fixed, "utf8"));
  await page.waitForFunction((v) => Number(document.body.dataset.version) > v, before,
    { timeout: 15000 });
  await page.waitForFunction((s) => document.querySelector("#findings summary").textContent
    !== s, summary, { timeout: 15000 });
  result.clean.updateMs = Date.now() - started;
  result.clean.reloaded = !(await page.evaluate(() => window.notReloaded === true));
  result.clean.panel = await page.evaluate(panel, MADE);
  for (const width of [600, 375]) {
    for (const colorScheme of ["light", "dark"]) {
      await page.setViewportSize({ width, height: 900 });
      await page.emulateMedia({ colorScheme });
      await page.waitForTimeout(200);
      await shot(page, `clean-${width}-${colorScheme}`);
    }
  }
  // A render error: the error shows, and the panel does not hide it or keep old findings.
  await page.emulateMedia({ colorScheme: "light" });
  fs.writeFileSync(article, "---\ntitle: [unclosed\n---\nBody\n");
  await page.waitForFunction(() => document.body.classList.contains("has-error"), null,
    { timeout: 15000 });
  for (const width of [1200, 375]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(200);
    const error = await page.$("#error");
    const box = await error.boundingBox();
    const shown = await page.evaluate(panel, MADE);
    result.broken = result.broken || {};
    result.broken[width] = { error: await error.textContent(), errorTop: box ? box.y : null,
      errorHeight: box ? box.height : 0, panel: shown };
    await shot(page, `error-${width}-light`);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
