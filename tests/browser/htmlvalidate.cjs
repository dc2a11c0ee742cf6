// html-validate configuration for the rendered email (tests/test_email_quality.py).
// Everything in html-validate:recommended and :document applies; the only
// relaxations are the email idioms below, each with its reason.
"use strict";

// Presentational attributes that HTML5 deprecates but email clients still need:
// Outlook on Windows renders with Word's engine, which ignores CSS width,
// padding and background on tables, so these attributes are what hold the layout
// and colours there. Allowed on the elements email layout uses, nothing more.
const allowed = { deprecated: false };
const emailAttributes = {
  table: {
    attributes: {
      width: allowed,
      cellpadding: allowed,
      cellspacing: allowed,
      bgcolor: allowed,
      align: allowed,
    },
  },
  td: { attributes: { width: allowed, bgcolor: allowed, align: allowed } },
  // an article's table: premailer copies its cells' background and alignment into
  // these attributes, which Outlook reads and CSS-less clients fall back to
  th: { attributes: { bgcolor: allowed, align: allowed } },
  // premailer copies the body's background-color into bgcolor (for Outlook)
  body: { attributes: { bgcolor: allowed } },
};

module.exports = {
  root: true,
  extends: ["html-validate:recommended", "html-validate:document"],
  elements: ["html5", emailAttributes],
  rules: {
    // Email clients drop <style> blocks or parts of them (Gmail without
    // support for classes in some apps, Outlook.com rewriting): every style is
    // inlined on purpose, so inline style is the point, not a smell.
    "no-inline-style": "off",
    // <!--[if mso]>...<![endif]--> is how Outlook on Windows gets its ghost table
    // (600 px) and font fallback; no other client reads them.
    "no-conditional-comment": "off",
    // The <title> is the email's subject, which is the article's headline: its
    // length is the editor's choice, not a template defect (70 characters is a
    // search-engine heuristic for web pages).
    "long-title": "off",
    // Webmail drops <html lang dir> and does not know <article>: the email names
    // itself on <div role="article" aria-roledescription="email"> (Cerberus, Ghost).
    "prefer-native-element": ["error", { exclude: ["article"] }],
  },
};
