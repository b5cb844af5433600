// Every error the node and the hub can answer is shown in Kazakh and Russian: this test reads the
// Rust sources, collects every error code a JSON error body can carry and every field name one can
// name, and fails when the kit's texts (node/kit/assets/kit/texts.js, used by the console and the
// HQ dashboard) lack `err.<code>` or `field.<name>` in kk or ru. The browser renders errors only
// from these codes (see node/kit/assets/kit/api.js); the server's English message never reaches
// the page.
//
// Where codes come from:
// - `ApiError::new(<status>, "code", ...)` anywhere in the servers' sources;
// - `DomainError::rule("code", ...)`, `DomainError::rule_field("code", "field", ...)` (the code is
//   an argument: the appeals workflow), and the first argument of any function of the same file
//   declared `fn name(code: &'static str, ...)` that hands its code on (`refuse("code", ...)`);
// - every string literal in a function that names an error's code (`fn code(&self)`,
//   `fn media_error_code`) of the domain, accounts, calls, admission and warnings errors;
// - the codes the shared web layer gives the framework's rejections and bad JSON bodies
//   (server_kit::web `json_errors` and `ApiJson`).
// Field names: `DomainError::field("..")`, `DomainError::rule_field(.., "..", ..)`, `check_text("..")`, `validate_text("..")`, `InvalidField { field: ".." }`,
// `with_field(Some("..".into()))` and the fields `AccountError::field` names.
// The citizen page's WebSocket warnings (node/src/http/citizen.rs) are that page's own and are
// not collected.
//
// Run: cd e2e && node --test error_codes.test.mjs

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = ['sync/src', 'node/src', 'node/answers/src', 'node/kit/src', 'central/src'];
const SKIP = /(^|\/)(tests?|citizen)(\.rs|\/)/;

function rustFiles(dir) {
  const out = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...rustFiles(rel));
    else if (name.endsWith('.rs') && !SKIP.test(rel)) out.push(rel);
  }
  return out;
}
/** The source without its `#[cfg(test)] mod tests { .. }` (test fixtures use made-up codes). */
function withoutTests(src) {
  const i = src.search(/#\[cfg\(test\)\]\s*mod\s+\w+\s*\{/);
  return i < 0 ? src : src.slice(0, i);
}
/** The body of every function whose name matches re (up to the closing brace at its indent). */
function fnBodies(src, re) {
  const out = [];
  for (const m of src.matchAll(new RegExp('^([ \\t]*)(?:pub(?:\\([a-z]+\\))? )?fn (' + re + ')\\b[^{]*\\{', 'gm'))) {
    const end = src.indexOf('\n' + m[1] + '}', m.index);
    out.push(src.slice(m.index, end < 0 ? undefined : end));
  }
  return out;
}
function literals(text) { return [...text.matchAll(/"([a-z][a-z0-9_]*)"/g)].map((m) => m[1]); }

/** `skip`: files left out (a part of a shared crate the UI never calls). */
export function collect(dirs, skip) {
  const codes = new Map();
  const fields = new Map();
  const add = (map, k, file) => { if (!map.has(k)) map.set(k, file); };
  for (const dir of dirs || SOURCES) {
    for (const file of rustFiles(dir)) {
      if (skip && skip.test(file)) continue;
      const src = withoutTests(readFileSync(path.join(ROOT, file), 'utf8'));
      for (const m of src.matchAll(/ApiError::new\(\s*[A-Za-z_:]+,\s*"([a-z0-9_]+)"/g)) add(codes, m[1], file);
      for (const m of src.matchAll(/DomainError::rule(?:_field)?\(\s*"([a-z0-9_]+)"/g)) add(codes, m[1], file);
      for (const m of src.matchAll(/fn ([a-z_][a-z0-9_]*)\(\s*code: &'static str/g)) {
        for (const c of src.matchAll(new RegExp('\\b' + m[1] + '\\(\\s*"([a-z0-9_]+)"', 'g'))) add(codes, c[1], file);
      }
      for (const body of fnBodies(src, '[a-z_]*code')) {
        if (!/->\s*&'static str/.test(body.slice(0, 200))) continue;
        for (const c of literals(body)) add(codes, c, file);
      }
      // server_kit::web: the framework's rejections and ApiJson's body errors.
      for (const m of src.matchAll(/let code = match status \{([\s\S]*?)\n\s*\};/g)) for (const c of literals(m[1])) add(codes, c, file);
      for (const m of src.matchAll(/\(\s*"([a-z_]+)",\s*(?:path|String::new\(\))\s*\)/g)) add(codes, m[1], file);
      const fieldRes = [
        /DomainError::field\(\s*"([a-z0-9_.]+)"/g, /(?:check_text|validate_text)\(\s*"([a-z0-9_.]+)"/g,
        /InvalidField \{\s*field:\s*"([a-z0-9_.]+)"/g, /\bfield:\s*"([a-z0-9_.]+)",\s*reason/g,
        /with_field\(Some\("([a-z0-9_.]+)"/g, /DomainError::rule_field\(\s*"[a-z0-9_]+",\s*"([a-z0-9_.]+)"/g,
      ];
      for (const re of fieldRes) for (const m of src.matchAll(re)) add(fields, m[1], file);
      for (const body of fnBodies(src, 'field')) {
        if (!/Option<&'static str>/.test(body.slice(0, 200))) continue;
        for (const m of body.matchAll(/Some\("([a-z0-9_.]+)"\)/g)) add(fields, m[1], file);
      }
    }
  }
  return { codes, fields };
}

function dictionaries(file) {
  const src = readFileSync(path.join(ROOT, file), 'utf8');
  const ctx = {};
  vm.runInNewContext(src.replace(/^export default /m, 'result = '), ctx);
  return ctx.result;
}

// The node's console answers what the node and its crates send (the answers crate's codes reach
// it through a draft's preview and approval); HQ's dashboard what the hub and the crates it is
// built from send — not the appeals workflow of the sync crate, which only the node runs. Each
// must find every text in its own dictionary or the kit's.
const UIS = [
  { name: 'console', dict: 'node/assets/console/i18n.js', dirs: ['sync/src', 'node/src', 'node/answers/src', 'node/kit/src'] },
  { name: 'HQ dashboard', dict: 'central/assets/dashboard/i18n.js', dirs: ['sync/src', 'node/kit/src', 'central/src'], skip: /^sync\/src\/appeal/ },
];

describe('server_errors_in_kazakh_and_russian: every code and field the servers send has a text', () => {
  const kit = dictionaries('node/kit/assets/kit/texts.js');

  it('finds the codes and fields in the Rust sources', () => {
    const { codes, fields } = collect();
    // A broken pattern must not make the check pass by finding nothing.
    for (const c of ['transition_not_allowed', 'no_calendar_for_year', 'too_many_drafts', 'text_too_long', 'table_row_width', 'no_answer_yet', 'invalid_field', 'not_found', 'storage_error', 'forbidden', 'call_taken', 'invalid_transition', 'login_throttled', 'malformed_json', 'method_not_allowed', 'not_your_unit', 'invalid_query']) {
      assert.ok(codes.has(c), `collected code ${c}`);
    }
    for (const f of ['category', 'district', 'location.lat', 'caller.phone', 'login', 'roles', 'description', 'crew', 'outcome', 'full_name', 'year']) {
      assert.ok(fields.has(f), `collected field ${f}`);
    }
    assert.ok(codes.size > 40, `collected ${codes.size} codes`);
  });

  for (const ui of UIS) {
    const { codes, fields } = collect(ui.dirs, ui.skip);
    const dict = dictionaries(ui.dict);
    for (const lang of ['ru', 'kk']) {
      const has = (k) => k in dict[lang] || k in kit[lang];
      it(`${ui.name}, ${lang}: err.<code> for every code`, () => {
        const missing = [...codes].filter(([c]) => !has('err.' + c)).map(([c, f]) => `err.${c} (${f})`);
        assert.deepEqual(missing, [], `error codes without a ${lang} text in ${ui.dict} or the kit's texts.js`);
      });
      it(`${ui.name}, ${lang}: field.<name> for every field`, () => {
        const missing = [...fields].filter(([k]) => !has('field.' + k)).map(([k, f]) => `field.${k} (${f})`);
        assert.deepEqual(missing, [], `field names without a ${lang} text in ${ui.dict} or the kit's texts.js`);
      });
    }
  }
});
