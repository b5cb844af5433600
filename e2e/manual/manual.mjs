// The user manual's sources and the checks on them, without side effects: build.mjs (the
// command) and ../manual.test.mjs import this. A role's page is one module under roles/ whose
// every text is a `{ kk, ru }` pair, so a translation that is missing shows up as a missing key
// next to the other language's text rather than as a whole file gone out of date.

import { readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const LANGS = ['kk', 'ru'];
export const ROLES_DIR = path.join(HERE, 'roles');

/** A failure of the manual's build that names the file to fix. */
export class ManualError extends Error {}

/**
 * The role modules of `dir`, in file-name order (the index lists them so):
 * `[{ file, role }]`, `file` relative to the repository root for messages.
 */
export async function loadRoles(dir = ROLES_DIR) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
  const out = [];
  for (const f of files) {
    const full = path.join(dir, f);
    const role = (await import(pathToFileURL(full).href)).default;
    out.push({ file: shown(full), role });
  }
  return out;
}

/** A path as messages show it: relative to the repository root when inside it. */
export function shown(p) {
  const rel = path.relative(path.resolve(HERE, '../..'), p);
  return rel.startsWith('..') ? p : rel;
}

/**
 * Every place where a text exists in one language and not the other, as `where: what` lines.
 * A text is any object with a `kk` or `ru` key; both must be non-empty strings, or arrays of
 * non-empty strings of the same length.
 */
export function languageGaps(value, where = '') {
  const gaps = [];
  const filled = (s) => typeof s === 'string' && s.trim() !== '';
  const walk = (v, at) => {
    if (Array.isArray(v)) { v.forEach((x, i) => walk(x, `${at}[${i}]`)); return; }
    if (!v || typeof v !== 'object') return;
    if ('kk' in v || 'ru' in v) {
      const [kk, ru] = [v.kk, v.ru];
      if (Array.isArray(kk) || Array.isArray(ru)) {
        if (!Array.isArray(kk) || !Array.isArray(ru)) gaps.push(`${at}: a list in one language only`);
        else if (kk.length !== ru.length) gaps.push(`${at}: kk has ${kk.length} items, ru has ${ru.length}`);
        else kk.forEach((s, i) => { if (!filled(s) || !filled(ru[i])) gaps.push(`${at}[${i}]: empty in ${filled(s) ? 'ru' : 'kk'}`); });
      } else {
        for (const l of LANGS) if (!filled(v[l])) gaps.push(`${at}: no ${l} text`);
      }
      return;
    }
    for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
  };
  walk(value, where);
  return gaps;
}

/** The required parts of a role module; `file` names it in the error. */
export function checkRole({ file, role }) {
  const problems = [];
  if (!role || typeof role !== 'object') throw new ManualError(`${file}: no default export`);
  if (!/^[a-z_]+$/.test(role.id || '')) problems.push('id: a lower-case code name (it names the page)');
  for (const k of ['title', 'summary', 'duties', 'screens']) if (!role[k]) problems.push(`${k}: missing`);
  for (const [i, s] of (role.screens || []).entries()) {
    if (!s.shot) problems.push(`screens[${i}].shot: missing`);
    if (!s.title || !s.steps) problems.push(`screens[${i}]: needs title and steps`);
  }
  problems.push(...languageGaps(role));
  if (problems.length) throw new ManualError(`${file}: ${problems.join('; ')}`);
}

/**
 * The screenshot file (`NAME.png`) a reference stands for in `lang`: `"x-{lang}"` is the
 * screenshot of that language, `{ kk, ru }` names one per language, and a plain name without a
 * language suffix is the same in both.
 */
export function shotName(ref, lang) {
  const name = typeof ref === 'string' ? ref.replaceAll('{lang}', lang) : ref[lang];
  return `${name}.png`;
}

/** Every `{ file, lang, name }` the roles reference (the role's file names the page). */
export function references(roles) {
  const out = [];
  for (const { file, role } of roles) {
    for (const l of LANGS) {
      for (const s of role.screens) out.push({ file, lang: l, name: shotName(s.shot, l) });
    }
  }
  return out;
}

/**
 * Fails on a referenced screenshot that is missing from `shots` or older than `sinceMs`
 * (null: no age check). Returns the screenshots of `shots` no page uses.
 */
export function checkShots(roles, shots, sinceMs) {
  const refs = references(roles);
  const problems = [];
  const seen = new Set();
  for (const r of refs) {
    if (seen.has(r.name)) continue;
    seen.add(r.name);
    const p = path.join(shots, r.name);
    if (!existsSync(p)) { problems.push(`missing screenshot ${shown(p)} (referenced by ${r.file})`); continue; }
    const mtime = statSync(p).mtimeMs;
    if (sinceMs != null && mtime < sinceMs) {
      problems.push(`stale screenshot ${shown(p)} (referenced by ${r.file}): taken ${new Date(mtime).toISOString()}, before ${new Date(sinceMs).toISOString()}`);
    }
  }
  if (problems.length) throw new ManualError(problems.join('\n'));
  const all = existsSync(shots) ? readdirSync(shots).filter((f) => f.endsWith('.png')).sort() : [];
  return all.filter((f) => !seen.has(f));
}
