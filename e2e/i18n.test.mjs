// The browser texts in Kazakh and Russian: the console's, the HQ dashboard's and the shared kit's
// dictionaries have the same keys in both languages, no text is empty, and every key the code
// names literally (t('…'), i18n: '…', data-i18n="…", toast('…'), {key: '…'}) exists in the
// application's dictionary or the kit's. Keys built at run time from a prefix ('status.' + code)
// are checked by the browser tests that render them.
//
// Run: cd e2e && node --test i18n.test.mjs

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KIT = 'node/kit/assets/kit';

/** The `{ru, kk}` an ES module dictionary exports by default, evaluated without a browser. */
function dictionaries(file) {
  const src = readFileSync(file, 'utf8');
  assert.match(src, /^export default \{/m, `${file} exports its dictionaries by default`);
  const ctx = {};
  vm.runInNewContext(src.replace(/^export default /m, 'result = '), ctx);
  assert.ok(ctx.result && ctx.result.ru && ctx.result.kk, `${file} defines ru and kk`);
  return ctx.result;
}

/** Every .js and .html file under dir (the modules and views of one front end). */
function sources(dir) {
  const out = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.(js|html)$/.test(name) && !/(^|\/)(i18n|texts)\.js$/.test(rel)) out.push(rel);
  }
  return out;
}

/** Keys a source file names literally; a key ending in '.' is a prefix completed at run time. */
function literalKeys(source) {
  const keys = new Set();
  const patterns = [
    /\bt\('([^']+)'/g, /\bi18n:\s*'([^']+)'/g, /data-i18n(?:-[a-z]+)?="([^"]+)"/g,
    /\b(?:ph|tip|titleKey):\s*'([^']+)'/g, /\btoast\('([a-z_]+\.[a-z_.]+)'/g, /\bkey:\s*'([a-z_]+\.[a-z_.]+)'/g,
  ];
  for (const re of patterns) {
    for (const m of source.matchAll(re)) {
      if (!m[1].endsWith('.')) keys.add(m[1]);
    }
  }
  return keys;
}

function usedKeys(dirs) {
  let used = new Set();
  for (const dir of dirs) {
    for (const f of sources(dir)) used = new Set([...used, ...literalKeys(readFileSync(path.join(ROOT, f), 'utf8'))]);
  }
  return used;
}

function sameKeysNoEmpty(dict) {
  const ru = Object.keys(dict.ru).sort();
  const kk = Object.keys(dict.kk).sort();
  assert.deepEqual(ru.filter((k) => !(k in dict.kk)), [], 'keys missing in kk');
  assert.deepEqual(kk.filter((k) => !(k in dict.ru)), [], 'keys missing in ru');
  for (const lang of ['ru', 'kk']) {
    const empty = Object.entries(dict[lang]).filter(([, v]) => typeof v !== 'string' || v.trim() === '');
    assert.deepEqual(empty.map(([k]) => k), [], `empty ${lang} texts`);
  }
}

const UIS = [
  { name: 'console', dir: 'node/assets/console' },
  { name: 'HQ dashboard', dir: 'central/assets/dashboard' },
];

describe('texts_in_kazakh_and_russian: the dictionaries of the console, the dashboard and the kit', () => {
  const kit = dictionaries(path.join(ROOT, KIT, 'texts.js'));

  it('kit: kk and ru have the same keys and no empty text', () => sameKeysNoEmpty(kit));

  for (const ui of UIS) {
    const dict = dictionaries(path.join(ROOT, ui.dir, 'i18n.js'));

    it(`${ui.name}: kk and ru have the same keys and no empty text`, () => sameKeysNoEmpty(dict));

    it(`${ui.name}: every key its code and the kit's name exists`, () => {
      const used = usedKeys([ui.dir, KIT]);
      assert.ok(sources(ui.dir).length > 3, `found the ${ui.name}'s modules`);
      assert.ok(used.size > 20, `found the keys the ${ui.name} uses (${used.size})`);
      const has = (lang, k) => k in dict[lang] || k in kit[lang];
      const missing = [...used].filter((k) => !has('ru', k) || !has('kk', k)).sort();
      assert.deepEqual(missing, [], `keys used by the ${ui.name} but in neither its dictionaries nor the kit's`);
    });
  }
});
