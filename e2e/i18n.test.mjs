// The browser texts in Kazakh and Russian: the console's and the HQ dashboard's dictionaries
// have the same keys in both languages, no text is empty, and every key the code names
// literally (t('…'), i18n: '…', data-i18n="…") exists. Keys built at run time from a prefix
// ('status.' + code) are checked by the browser tests that render them.
//
// Run: cd e2e && node --test i18n.test.mjs

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The `window.I18N` a dictionary file defines, evaluated as the browser would. */
function dictionaries(file) {
  const window = {};
  vm.runInNewContext(readFileSync(file, 'utf8'), { window });
  assert.ok(window.I18N && window.I18N.ru && window.I18N.kk, `${file} defines window.I18N with ru and kk`);
  return window.I18N;
}

/** Keys a source file names literally; a key ending in '.' is a prefix completed at run time. */
function literalKeys(source) {
  const keys = new Set();
  const patterns = [/\bt\('([^']+)'/g, /\bi18n:\s*'([^']+)'/g, /data-i18n(?:-[a-z]+)?="([^"]+)"/g];
  for (const re of patterns) {
    for (const m of source.matchAll(re)) {
      if (!m[1].endsWith('.')) keys.add(m[1]);
    }
  }
  return keys;
}

const UIS = [
  { name: 'console', dir: 'node/assets/console' },
  { name: 'HQ dashboard', dir: 'central/assets/dashboard' },
];

describe('texts_in_kazakh_and_russian: the dictionaries of the console and the dashboard', () => {
  for (const ui of UIS) {
    const dict = dictionaries(path.join(ROOT, ui.dir, 'i18n.js'));

    it(`${ui.name}: kk and ru have the same keys and no empty text`, () => {
      const ru = Object.keys(dict.ru).sort();
      const kk = Object.keys(dict.kk).sort();
      assert.deepEqual(ru.filter((k) => !(k in dict.kk)), [], 'keys missing in kk');
      assert.deepEqual(kk.filter((k) => !(k in dict.ru)), [], 'keys missing in ru');
      for (const lang of ['ru', 'kk']) {
        const empty = Object.entries(dict[lang]).filter(([, v]) => typeof v !== 'string' || v.trim() === '');
        assert.deepEqual(empty.map(([k]) => k), [], `empty ${lang} texts`);
      }
    });

    it(`${ui.name}: every key the code names exists`, () => {
      let used = new Set();
      for (const f of ['app.js', 'index.html']) {
        const file = path.join(ROOT, ui.dir, f);
        if (existsSync(file)) used = new Set([...used, ...literalKeys(readFileSync(file, 'utf8'))]);
      }
      assert.ok(used.size > 20, `found the keys the ${ui.name} uses (${used.size})`);
      const missing = [...used].filter((k) => !(k in dict.ru) || !(k in dict.kk)).sort();
      assert.deepEqual(missing, [], `keys used by the ${ui.name} but not in its dictionaries`);
    });
  }
});
