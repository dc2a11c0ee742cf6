// Open rendered emails in real headless Chromium and measure what a reader sees.
//
//   node tests/browser/inspect.mjs --out DIR [--widths 375,600] EMAIL.html...
//
// For each file, at 375, 600 and 1024 px wide (or only the --widths given), in
// light and dark (emulated prefers-color-scheme): the page's scroll width, the
// horizontal extent of its content, images without alt text, where each table and
// code block of the articles ends up against the text column, and the WCAG
// contrast of every visible piece of text against its effective background.
// Saves a full-page screenshot of each view into DIR as NAME-WIDTH-SCHEME.png (at
// a device scale factor of 1) and prints one JSON document on stdout; judging the
// numbers is the pytest test's job (tests/test_email_quality.py);
// scripts/screenshots.py keeps some of the pictures for the README. No network:
// every request but the file itself is refused, except images, which get a
// placeholder picture of their own size.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.NEWSLETTER_CHROMIUM || "/usr/bin/chromium";
const VIEWS = [
  { width: 375, scheme: "light", screenshot: true },
  { width: 375, scheme: "dark", screenshot: true },
  { width: 600, scheme: "light", screenshot: true },
  { width: 600, scheme: "dark", screenshot: true },
  { width: 1024, scheme: "light", screenshot: true },
  { width: 1024, scheme: "dark", screenshot: true },
];
const PLACEHOLDER = `<svg xmlns="http://www.w3.org/2000/svg" width="1072" height="603">
<rect width="1072" height="603" fill="#9ca3af"/></svg>`;

// Runs in the page: every measurement of one view.
function measure() {
  const parse = (css) => {
    const m = css.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const over = (top, bottom) => {
    const a = top.a + bottom.a * (1 - top.a);
    if (a === 0) return { r: 0, g: 0, b: 0, a: 0 };
    const mix = (k) => (top[k] * top.a + bottom[k] * bottom.a * (1 - top.a)) / a;
    return { r: mix("r"), g: mix("g"), b: mix("b"), a };
  };
  const luminance = ({ r, g, b }) => {
    const lin = (c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const ratio = (x, y) => {
    const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
  const hex = ({ r, g, b }) =>
    "#" + [r, g, b].map((c) => Math.round(c).toString(16).padStart(2, "0")).join("");
  // The page's own canvas colour (dark in dark mode, as color-scheme allows).
  const probe = document.createElement("div");
  probe.style.backgroundColor = "Canvas";
  document.documentElement.appendChild(probe);
  const canvas = parse(getComputedStyle(probe).backgroundColor);
  probe.remove();

  // Walk up from the element to the first opaque background, compositing any
  // translucent ones on the way, over the canvas at the end.
  const background = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg && bg.a > 0) {
        layers.push(bg);
        if (bg.a >= 1) break;
      }
    }
    let colour = { ...canvas, a: 1 };
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const visible = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === "none" || s.visibility === "hidden" || Number(s.opacity) === 0)
        return false;
    }
    const rect = element.getBoundingClientRect();
    return rect.width > 1 && rect.height > 1;
  };

  const texts = [];
  let left = Infinity;
  let right = -Infinity;
  for (const element of document.body.querySelectorAll("*")) {
    const own = [...element.childNodes]
      .filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent)
      .join("")
      .replace(/[\s\u200c\u034f]+/g, " ")
      .trim();
    const isImage = element.tagName === "IMG";
    if ((!own && !isImage) || !visible(element)) continue;
    const rect = element.getBoundingClientRect();
    left = Math.min(left, rect.left);
    right = Math.max(right, rect.right);
    if (!own) continue;
    const style = getComputedStyle(element);
    const bg = background(element);
    const fg = over(parse(style.color), bg);
    texts.push({
      tag: element.tagName.toLowerCase(),
      class: element.className || "",
      text: own.slice(0, 40),
      color: hex(fg),
      background: hex(bg),
      contrast: Math.round(ratio(fg, bg) * 100) / 100,
      fontSize: parseFloat(style.fontSize),
    });
  }
  const images = [...document.images].map((img) => ({
    src: img.getAttribute("src"),
    alt: img.getAttribute("alt"),
    width: Math.round(img.getBoundingClientRect().width),
  }));
  const container = document.querySelector(".container");

  // Each table and code block of the articles (not the layout's tables): the part
  // of it a reader sees (its own box, or the box of the nearest ancestor that
  // clips or scrolls it) against the text column (the content cell less its
  // padding).
  const cell = document.querySelector(".content");
  const column = (() => {
    if (!cell) return null;
    const rect = cell.getBoundingClientRect();
    const style = getComputedStyle(cell);
    return {
      left: rect.left + parseFloat(style.paddingLeft),
      right: rect.right - parseFloat(style.paddingRight),
    };
  })();
  const clipper = (element) => {
    for (let e = element; e && e !== cell; e = e.parentElement)
      if (getComputedStyle(e).overflowX !== "visible") return e;
    return null;
  };
  const blocks = [];
  const selector = '.content table:not([role="presentation"]), .content .pre';
  for (const element of cell ? cell.querySelectorAll(selector) : []) {
    if (!visible(element)) continue;
    const own = element.getBoundingClientRect();
    const clip = clipper(element);
    // Unclipped, what overflows the box (a code line that does not wrap) shows too.
    const shown = clip
      ? clip.getBoundingClientRect()
      : { left: own.left, right: Math.max(own.right, own.left + element.scrollWidth) };
    blocks.push({
      kind: element.tagName === "TABLE" ? "table" : "code",
      text: element.textContent.replace(/\s+/g, " ").trim().slice(0, 40),
      left: Math.round(shown.left),
      right: Math.round(shown.right),
      ownWidth: Math.round(own.width),
      scrolls: clip ? clip.scrollWidth > clip.clientWidth : false,
      columnLeft: Math.round(column.left),
      columnRight: Math.round(column.right),
    });
  }
  return {
    viewportWidth: window.innerWidth,
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    contentWidth: Math.round(right - left),
    containerWidth: container ? Math.round(container.getBoundingClientRect().width) : null,
    images,
    blocks,
    texts,
  };
}

async function main() {
  const args = process.argv.slice(2);
  const at = args.indexOf("--out");
  if (at < 0 || args.length < at + 2) {
    console.error("usage: node inspect.mjs --out DIR [--widths 375,600] EMAIL.html...");
    process.exit(2);
  }
  const out = args[at + 1];
  const w = args.indexOf("--widths");
  const widths = w < 0 ? null : args[w + 1].split(",").map(Number);
  const views = widths ? VIEWS.filter((view) => widths.includes(view.width)) : VIEWS;
  const options = new Set([at, at + 1, ...(w < 0 ? [] : [w, w + 1])]);
  const files = args.filter((_, i) => !options.has(i));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--font-render-hinting=none"],
  });
  const results = {};
  try {
    for (const file of files) {
      const name = path.basename(file, ".html");
      const url = pathToFileURL(path.resolve(file)).href;
      results[name] = [];
      for (const view of views) {
        const context = await browser.newContext({
          viewport: { width: view.width, height: 800 },
          deviceScaleFactor: 1,
          colorScheme: view.scheme,
          javaScriptEnabled: true,
        });
        const page = await context.newPage();
        await page.route("**/*", (route) => {
          const request = route.request();
          if (request.url() === url) return route.continue();
          if (request.resourceType() === "image")
            return route.fulfill({ contentType: "image/svg+xml", body: PLACEHOLDER });
          return route.abort();
        });
        await page.goto(url, { waitUntil: "load" });
        const result = { width: view.width, scheme: view.scheme, ...(await page.evaluate(measure)) };
        if (view.screenshot) {
          result.screenshot = path.resolve(out, `${name}-${view.width}-${view.scheme}.png`);
          await page.screenshot({ path: result.screenshot, fullPage: true });
        }
        results[name].push(result);
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
