// Check rendered emails against caniemail.com's data with doiuse-email.
//
//   node tests/browser/doiuse.mjs CLIENTS EMAIL.html...
//
// CLIENTS is a comma-separated list of doiuse-email client globs
// (e.g. "gmail.*,outlook.windows"). Prints {file: {errors, warnings}} as JSON:
// errors are features a client does not support, warnings partial support.
// Which of them are acceptable is decided in tests/test_email_quality.py.
// (The package's own CLI cannot run: its bin script has no #! line.)
import fs from "node:fs";
import { doIUseEmail } from "doiuse-email";

const [clients, ...files] = process.argv.slice(2);
if (!clients || files.length === 0) {
  console.error("usage: node doiuse.mjs CLIENTS EMAIL.html...");
  process.exit(2);
}
const results = {};
for (const file of files) {
  const { errors = [], warnings = [] } = doIUseEmail(fs.readFileSync(file, "utf8"), {
    emailClients: clients.split(","),
  });
  results[file] = { errors, warnings };
}
process.stdout.write(JSON.stringify(results));
