// validate.mjs - checks HTML files with html-validate (its "recommended" rules: the HTML
// standard's content models and attributes, plus accessibility rules such as labels and alt
// text) and, with --self-contained, that a document would make no request when opened: no
// URL to another host, no src other than data:, no link, no script, no CSS url() or @import
// other than data:.
//   node validate.mjs [--self-contained] FILE...
// Exits 1 with the problems listed when any file fails.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const modules = process.env.XAID_WEB_MODULES;
if (!modules) {
  console.error('validate: set XAID_WEB_MODULES to tools/web/node_modules (tools/install-deps test)');
  process.exit(2);
}
const { HtmlValidate } = require(require.resolve('html-validate', { paths: [modules] }));

function selfContainedProblems(text) {
  const problems = [];
  const checks = [
    [/\bhttps?:\/\//i, 'an http(s) URL'],
    [/\b(?:src|href|action|poster|srcset|data)\s*=\s*"(?!data:)[^"]*"/i, 'an attribute that loads something other than data:'],
    [/<script\b/i, 'a script'],
    [/<link\b/i, 'a link element'],
    [/<(?:iframe|object|embed|base)\b/i, 'an embedding element'],
    [/url\(\s*["']?(?!data:)/i, 'a CSS url() other than data:'],
    [/@import\b/i, 'a CSS @import'],
  ];
  for (const [re, what] of checks) {
    const m = text.match(re);
    if (m) problems.push(`${what}: ${m[0].slice(0, 80)}`);
  }
  return problems;
}

const args = process.argv.slice(2);
const selfContained = args[0] === '--self-contained';
const files = selfContained ? args.slice(1) : args;
if (!files.length) {
  console.error('usage: node validate.mjs [--self-contained] FILE...');
  process.exit(2);
}
const validator = new HtmlValidate({ extends: ['html-validate:recommended'] });
let failed = 0;
for (const file of files) {
  const report = await validator.validateFile(file);
  const problems = [];
  for (const r of report.results)
    for (const m of r.messages) problems.push(`${m.line}:${m.column} ${m.message} (${m.ruleId})`);
  if (selfContained) problems.push(...selfContainedProblems(readFileSync(file, 'utf8')));
  if (problems.length) {
    failed++;
    console.log(`FAIL ${file}`);
    for (const p of problems) console.log(`  ${p}`);
  } else {
    console.log(`ok   ${file}`);
  }
}
console.log(`${files.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
