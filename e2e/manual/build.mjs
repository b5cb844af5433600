#!/usr/bin/env node
// Builds the user manual (seed 001 p.28.4) in Kazakh and Russian from roles/*.mjs and the
// browser tests' screenshots: target/manual/{kk,ru}/ (an index and a page per role, the
// screenshots copied beside them) and target/manual/manual-{kk,ru}.pdf printed by headless
// Chromium. Fails, naming the file, on a missing or stale screenshot, a text in one language
// only, or a Latin-script word in the manual. See README.md here.
//
//   node e2e/manual/build.mjs [--since <epoch-ms> | --since-file <path>] [--shots DIR] [--out DIR]
//                             [--roles DIR] [--check]
//
// --since / --since-file: every screenshot used must be at least that new (CI: the time the
//   browser tests started, kept as a file's mtime). --check: the checks on files only, without
//   Chromium and without writing anything.

import { copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, SHOTS, latinWords } from '../harness.mjs';
import { HERE, LANGS, ROLES_DIR, ManualError, checkRole, checkShots, languageGaps, loadRoles, shotName, shown } from './manual.mjs';
import COMMON from './common.mjs';

const USAGE = 'usage: build.mjs [--since <epoch-ms> | --since-file <path>] [--shots DIR] [--out DIR] [--roles DIR] [--check]';

function parseArgs(argv) {
  const o = { shots: SHOTS, out: path.resolve(HERE, '../../target/manual'), roles: ROLES_DIR, sinceMs: null, check: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new ManualError(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === '--shots') o.shots = path.resolve(value());
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--roles') o.roles = path.resolve(value());
    else if (a === '--check') o.check = true;
    else if (a === '--since') {
      const v = value();
      if (!/^\d+$/.test(v)) throw new ManualError(`--since takes milliseconds since the epoch, not "${v}"`);
      o.sinceMs = Number(v);
    } else if (a === '--since-file') {
      const f = value();
      try { o.sinceMs = statSync(f).mtimeMs; } catch { throw new ManualError(`--since-file ${f}: no such file (touch it before the browser tests)`); }
    } else throw new ManualError(`unknown argument ${a}\n${USAGE}`);
  }
  return o;
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** A text of the sources, escaped: **bold**; [[Name]] is a proper name written in Latin letters
 * (a browser's name) and Ctrl+Enter, Alt+1 ... are keys: both are kept out of the Latin-word
 * check as the console keeps data values and its own key hints (translate="no"). */
const text = (s) => esc(s).replace(/\*\*(.+?)\*\*/g, '<b>$1</b>')
  .replace(/\[\[(.+?)\]\]/g, '<span translate="no">$1</span>')
  .replace(/\b(?:Ctrl|Alt|Shift)\+[A-Za-z0-9]+\b/g, '<kbd translate="no">$&</kbd>');
const T = (pair, l) => pair[l];
const list = (items, tag) => `<${tag}>${items.map((s) => `<li>${text(s)}</li>`).join('')}</${tag}>`;
const paras = (items) => items.map((s) => `<p>${text(s)}</p>`).join('');

function figure(ref, title, l) {
  const name = shotName(ref, l);
  return `<figure><img src="shots/${esc(name)}" alt="${esc(title)}" loading="eager">`
    + `<figcaption>${esc(title)} <span class="src" translate="no">${esc(name)}</span></figcaption></figure>`;
}

/** Numbered screens: a heading, the screenshot and the steps. */
function screens(items, l) {
  return items.map((s, i) => `<section class="screen"><h3>${i + 1}. ${text(T(s.title, l))}</h3>${figure(s.shot, T(s.title, l), l)}${list(T(s.steps, l), 'ol')}</section>`).join('\n');
}

/** The body of a role's page in `l`. */
function roleBody(role, l) {
  const C = COMMON.labels;
  const parts = [`<h1>${text(T(role.title, l))}</h1>`, `<p class="lead">${text(T(role.summary, l))}</p>`];
  parts.push(`<h2>${text(T(C.duties, l))}</h2>`, paras(T(role.duties, l)));
  if (role.login) parts.push(`<h2>${text(T(C.login, l))}</h2>`, list(T(role.login, l), 'ol'));
  parts.push(`<h2>${text(T(C.screens, l))}</h2>`);
  parts.push(screens(role.screens, l));
  if (role.deadlines) parts.push(`<h2>${text(T(C.deadlines, l))}</h2>`, list(T(role.deadlines, l), 'ul'));
  return parts.join('\n');
}

function indexBody(roles, l) {
  const C = COMMON;
  const items = roles.map(({ role }) => `<li><a href="${role.id}.html">${text(T(role.title, l))}</a> — ${text(T(role.summary, l))}</li>`);
  return [`<h1>${text(T(C.title, l))}</h1>`, paras(T(C.intro, l)),
    `<h2>${text(T(C.labels.roles, l))}</h2>`, `<ul class="roles">${items.join('')}</ul>`,
    `<h2>${text(T(C.labels.general, l))}</h2>`, list(T(C.general, l), 'ul'),
    `<h2>${text(T(C.labels.login, l))}</h2>`, screens(C.screens, l)].join('\n');
}

function page(l, title, body, { nav = true, file = 'index.html' } = {}) {
  const other = LANGS.find((x) => x !== l);
  const head = nav
    ? `<nav><a href="index.html">${text(T(COMMON.labels.contents, l))}</a> <a class="lang" href="../${other}/${file}">${text(T(COMMON.labels.other_lang, l))}</a></nav>`
    : '';
  return `<!doctype html>\n<html lang="${l}"><head><meta charset="utf-8"><title>${esc(title)}</title>`
    + `<link rel="stylesheet" href="manual.css"></head><body>${head}<main>${body}</main>`
    + `<footer>${text(T(COMMON.labels.footer, l))}</footer></body></html>\n`;
}

/** Writes `out/l/` and returns the pages written as `{ file, html, source }`. */
function writeLanguage(roles, shots, out, l) {
  const dir = path.join(out, l);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'shots'), { recursive: true });
  copyFileSync(path.join(HERE, 'manual.css'), path.join(dir, 'manual.css'));
  for (const s of COMMON.screens) copyFileSync(path.join(shots, shotName(s.shot, l)), path.join(dir, 'shots', shotName(s.shot, l)));
  const pages = [{ file: 'index.html', source: shown(path.join(HERE, 'common.mjs')), title: T(COMMON.title, l), body: indexBody(roles, l) }];
  for (const { file, role } of roles) {
    for (const s of role.screens) copyFileSync(path.join(shots, shotName(s.shot, l)), path.join(dir, 'shots', shotName(s.shot, l)));
    pages.push({ file: `${role.id}.html`, source: file, title: `${T(role.title, l)} — ${T(COMMON.title, l)}`, body: roleBody(role, l) });
  }
  for (const p of pages) writeFileSync(path.join(dir, p.file), page(l, p.title, p.body, { file: p.file }));
  // One document for the PDF: the index, then each role from a new sheet.
  const all = pages.map((p) => `<section class="sheet">${p.body}</section>`).join('\n');
  writeFileSync(path.join(dir, 'print.html'), page(l, T(COMMON.title, l), all, { nav: false }));
  return pages;
}

/** Scans every page of `l` for Latin-script words (the language scan's rule) and prints the PDF. */
async function checkAndPrint(browser, out, l, pages) {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const pg = await ctx.newPage();
  const problems = [];
  for (const p of pages) {
    await pg.goto(pathToFileURL(path.join(out, l, p.file)).href);
    const words = await latinWords(pg);
    if (words.length) problems.push(`${p.source} (${l}, ${p.file}): Latin-script words: ${words.join('; ')}`);
  }
  if (problems.length) throw new ManualError(problems.join('\n'));
  // goto waits for the load event: every screenshot is in before printing.
  await pg.goto(pathToFileURL(path.join(out, l, 'print.html')).href);
  const pdf = path.join(out, `manual-${l}.pdf`);
  await pg.pdf({ path: pdf, format: 'A4', printBackground: true, margin: { top: '15mm', bottom: '15mm', left: '15mm', right: '15mm' } });
  await ctx.close();
  return pdf;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const roles = await loadRoles(o.roles);
  if (!roles.length) throw new ManualError(`${shown(o.roles)}: no role modules (*.mjs)`);
  const commonGaps = languageGaps(COMMON);
  if (commonGaps.length) throw new ManualError(`${shown(path.join(HERE, 'common.mjs'))}: ${commonGaps.join('; ')}`);
  const ids = new Set();
  for (const r of roles) {
    checkRole(r);
    if (ids.has(r.role.id)) throw new ManualError(`${r.file}: id "${r.role.id}" is used by another role`);
    ids.add(r.role.id);
  }
  const common = { file: shown(path.join(HERE, 'common.mjs')), role: COMMON };
  const unused = checkShots([common, ...roles], o.shots, o.sinceMs);
  const used = new Set([common, ...roles].flatMap(({ role }) => role.screens.flatMap((s) => LANGS.map((l) => shotName(s.shot, l))))).size;
  console.log(`manual: ${roles.length} roles, ${used} screenshots from ${shown(o.shots)}${o.sinceMs != null ? `, all taken since ${new Date(o.sinceMs).toISOString()}` : ''}`);
  if (unused.length) {
    console.log(`warning: ${unused.length} screenshots of the browser tests are used by no page of the manual:`);
    for (const f of unused) console.log(`  ${f}`);
  }
  if (o.check) return;
  const pages = Object.fromEntries(LANGS.map((l) => [l, writeLanguage(roles, o.shots, o.out, l)]));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    for (const l of LANGS) {
      const pdf = await checkAndPrint(browser, o.out, l, pages[l]);
      console.log(`${l}: ${pages[l].length} pages in ${shown(path.join(o.out, l))}, ${shown(pdf)} (${(statSync(pdf).size / 1048576).toFixed(1)} MiB)`);
    }
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e instanceof ManualError ? `manual: ${e.message}` : e);
  process.exit(1);
});
