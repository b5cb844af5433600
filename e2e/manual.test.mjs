// The user manual's generator (e2e/manual/build.mjs) fails, naming the file, when a screenshot it
// uses is missing or older than --since, or when a role's text is in one language only. Runs the
// generator's file checks (--check: no Chromium) against temporary screenshots and role folders.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRoles, references, ROLES_DIR } from './manual/manual.mjs';
import COMMON from './manual/common.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUILD = path.join(HERE, 'manual/build.mjs');
/** A 1×1 PNG: the checks read names and times, not pixels. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let tmp;
let shots;
let names;

function build(...args) {
  const r = spawnSync(process.execPath, [BUILD, '--check', '--shots', shots, '--out', path.join(tmp, 'out'), ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('user manual generator', () => {
  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'manual-'));
    shots = path.join(tmp, 'shots');
    const roles = await loadRoles();
    names = [...new Set(references([{ file: 'common', role: COMMON }, ...roles]).map((r) => r.name))];
    // The role modules import ../common.mjs: the copy keeps the folder's layout.
    cpSync(path.dirname(ROLES_DIR), path.join(tmp, 'manual'), { recursive: true });
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** Every screenshot the manual uses, just written, plus one no page uses. */
  function freshShots() {
    rmSync(shots, { recursive: true, force: true });
    mkdirSync(shots);
    for (const n of [...names, 'nobody-uses-this-ru.png']) writeFileSync(path.join(shots, n), PNG);
  }

  it('passes with every screenshot present and fresh, and lists the unused ones', () => {
    freshShots();
    const since = Date.now() - 60_000;
    const r = build('--since', String(since));
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /nobody-uses-this-ru\.png/);
  });

  it('fails on a missing screenshot, naming it', () => {
    freshShots();
    const gone = names.find((n) => n.startsWith('field-terminal-'));
    rmSync(path.join(shots, gone));
    const r = build();
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`missing screenshot .*${gone.replace('.', '\\.')}`));
    assert.match(r.out, /05-patrol\.mjs/, 'names the page that uses it');
  });

  it('fails on a screenshot older than --since and --since-file, naming it', () => {
    freshShots();
    const old = names.find((n) => n.startsWith('meetings-protocol-'));
    const hourAgo = (Date.now() - 3_600_000) / 1000;
    utimesSync(path.join(shots, old), hourAgo, hourAgo);
    const since = Date.now() - 60_000;
    let r = build('--since', String(since));
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`stale screenshot .*${old.replace('.', '\\.')}`));
    const started = path.join(tmp, 'e2e-started');
    writeFileSync(started, '');
    utimesSync(started, since / 1000, since / 1000);
    r = build('--since-file', started);
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`stale screenshot .*${old.replace('.', '\\.')}`));
    r = build('--since-file', path.join(tmp, 'no-such-file'));
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /no-such-file/);
  });

  it('fails on a text in one language only, naming the role file', () => {
    freshShots();
    const roles = path.join(tmp, 'manual', 'roles');
    const file = readdirSync(roles).find((f) => f.includes('registrar'));
    const src = readFileSync(path.join(roles, file), 'utf8');
    // The Kazakh title goes: the Russian one stays.
    const broken = src.replace(/title: \{ kk: '[^']*', ru:/, 'title: { ru:');
    assert.notEqual(broken, src);
    writeFileSync(path.join(roles, file), broken);
    const r = build('--roles', roles);
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`${file.replace('.', '\\.')}: .*title: no kk text`));
  });
});
