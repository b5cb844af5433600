// The real map (issue 13) in headless Chromium: a node and the HQ hub serving tiles from a
// PMTiles file made by `examples/make_tiles` (synthetic 256×256 PNG tiles over Astana, zooms
// 10–13), Leaflet vendored in the kit, and the map's layers:
// (a) the dispatcher's map tab loads the node's tiles (each image 256 px wide) and shows the
//     open incidents that have a point; screenshot target/screenshots/map-console.png;
// (b) R20: the roster's posts (circles) and patrol routes (polylines) and the units by status,
//     an off-post unit marked (GET /map/posts and /map/units are answered here with data of
//     their documented shape: the browser layers are under test);
// (c) R35: the selected card's caller point with its accuracy circle, on the map tab and on the
//     card's own small map in the ГУСС tab;
// (d) HQ's dashboard map over the hub's tiles; screenshot target/screenshots/map-hq.png.
//
// Run: cd e2e && NODE_BIN=../target/debug/node CENTRAL_BIN=../target/debug/central \
//   MAKE_TILES_BIN=../target/debug/examples/make_tiles node --test map.test.mjs
// (cargo build -p node -p central --bins && cargo build -p server-kit --example make_tiles)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ADMIN_TEMP_PASSWORD, SHOTS, startNode, stopNode, startProcess, stopProcess, staff, launchChromium, openPage,
  login, tid, waitFor,
} from './harness.mjs';
import { freePort } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const bin = (env, rel) => (process.env[env] ? path.resolve(process.cwd(), process.env[env]) : path.resolve(HERE, rel));
const MAKE_TILES_BIN = bin('MAKE_TILES_BIN', '../target/debug/examples/make_tiles');
const CENTRAL_BIN = bin('CENTRAL_BIN', '../target/debug/central');
/** The screenshots this issue asks for, beside the other browser tests' folder. */
const MAP_SHOTS = path.resolve(SHOTS, '../screenshots');
const USERS = [
  { login: 'ct_map', full_name: 'Оператор карты', roles: ['call_taker'] },
  { login: 'disp_map', full_name: 'ГУСС карты', roles: ['dispatcher'] },
];
const CALLER = { lat: 51.1283, lon: 71.4305, accuracy_m: 120 };

// /map/posts and /map/units as the node documents them (node/API.md), around the card's point.
const POSTS = [
  { code: 'P-01', name_kk: 'Бәйтерек бекеті', name_ru: 'Пост Байтерек', point: [51.1283, 71.4305], radius_m: 300,
    route: [[51.1283, 71.4305], [51.1300, 71.4400], [51.1250, 71.4480], [51.1210, 71.4390]] },
  { code: 'P-02', name_kk: 'Хан Шатыр бекеті', name_ru: 'Пост Хан Шатыр', point: [51.1325, 71.4037], radius_m: 250, route: [] },
];
function units() {
  const now = Date.now();
  return [
    { unit_id: 'p01', call_sign: 'КСП-01', kind: 'patrol', status: 'available',
      position: { at_ms: now - 20_000, lat: 51.1290, lon: 71.4330 }, post: { code: 'P-01', distance_m: 180, off_post: false } },
    { unit_id: 'p02', call_sign: 'КСП-02', kind: 'patrol', status: 'en_route',
      position: { at_ms: now - 95_000, lat: 51.1400, lon: 71.4600 }, post: { code: 'P-02', distance_m: 4100, off_post: true } },
    { unit_id: 'p03', call_sign: 'КСП-03', kind: 'patrol', status: 'available' },
  ];
}

let root;
let srv;
let hub;
let browser;
let page;
let tokens;
let card;
const errors = [];

async function shotTo(p, name) {
  mkdirSync(MAP_SHOTS, { recursive: true });
  // Leaflet fades tiles in: the picture is taken once every loaded tile is opaque.
  await waitFor(`${name}: tiles faded in`, async () => ({
    ok: await p.$$eval('img.leaflet-tile-loaded', (imgs) => imgs.every((i) => getComputedStyle(i).opacity === '1')),
  }));
  await p.screenshot({ path: path.join(MAP_SHOTS, `${name}.png`), fullPage: false });
}

/** Tile images the page has loaded, with their natural widths. */
async function loadedTiles(p, scope) {
  return p.$$eval(`${scope} img.leaflet-tile`, (imgs) => imgs.map((i) => ({
    loaded: i.classList.contains('leaflet-tile-loaded'), complete: i.complete, w: i.naturalWidth, src: i.getAttribute('src'),
  })));
}

describe('the map: tiles from the node, layers, HQ', () => {
  before(async () => {
    assert.ok(existsSync(MAKE_TILES_BIN), `make_tiles not found at ${MAKE_TILES_BIN} (cargo build -p server-kit --example make_tiles)`);
    root = mkdtempSync(path.join(tmpdir(), 'map-e2e-'));
    const tiles = path.join(root, 'region.pmtiles');
    execFileSync(MAKE_TILES_BIN, [tiles], { stdio: 'pipe', timeout: 60_000 });
    srv = await startNode({ name: 'map', config: `[map]\ntiles = ${JSON.stringify(tiles)}\n` });
    tokens = await staff(srv, USERS);
    card = await srv.api('POST', '/cards?send_for_processing=true', {
      channel: 'app102_call',
      caller: { name: 'Ерлан Ахметов', phone: '+77015550101' },
      location: { ...CALLER, address: 'г. Астана, пр. Мәңгілік Ел, 8' },
      description: 'Драка у входа',
      category: 'assault',
    }, tokens.ct_map);
    browser = await launchChromium();
    page = await openPage(browser, 'disp', errors);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (srv) await stopNode(srv).catch(() => {});
    if (hub) await stopProcess(hub).catch(() => {});
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the dispatcher\'s map tab draws the node\'s own tiles and the open incidents', async () => {
    const cfg = await srv.api('GET', '/map/config', undefined, tokens.disp_map);
    assert.equal(cfg.tiles, true, JSON.stringify(cfg));
    assert.deepEqual([cfg.min_zoom, cfg.max_zoom], [10, 13]);
    await login(page, srv, 'disp_map');
    await page.locator(tid('tab-map')).click();
    await page.locator(`${tid('map-main')}[data-ready="1"][data-tiles="1"]`).waitFor();
    const tiles = await waitFor('tiles loaded', async () => {
      const all = await loadedTiles(page, tid('map-main'));
      const good = all.filter((x) => x.loaded && x.w === 256);
      return { ok: good.length >= 4, good: good.length, all: all.length, sample: all.slice(0, 3) };
    });
    assert.ok(tiles.good >= 4, JSON.stringify(tiles));
    await page.locator(tid(`map-incident-${card.id}`)).waitFor();
    assert.equal(await page.locator(tid('map-incident-' + card.id)).innerText(), card.number);
    // No English reaches the user: Leaflet's own control titles come from the dictionaries.
    assert.equal(await page.locator('.leaflet-control-zoom-in').getAttribute('title'), 'Приблизить');
    assert.equal(await page.locator('.leaflet-control-attribution').count(), 0);
  });

  it('r20_posts_routes_and_units_by_status_are_drawn_and_an_off_post_unit_is_marked', async () => {
    await page.route('**/api/v1/map/posts', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(POSTS) }));
    await page.route('**/api/v1/map/units', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(units()) }));
    await page.locator(tid('tab-search')).click();
    await page.locator(tid('tab-map')).click();
    await page.locator(`${tid('map-main')}[data-posts="2"][data-units="2"]`).waitFor();
    await page.locator(tid('map-post-route-P-01')).waitFor();
    for (const id of ['map-post-P-01', 'map-post-P-02', 'map-unit-p01', 'map-unit-p02']) {
      assert.equal(await page.locator(tid(id)).count(), 1, id);
    }
    assert.equal(await page.locator(tid('map-post-route-P-02')).count(), 0, 'a post without a route draws no line');
    assert.equal(await page.locator(tid('map-unit-p03')).count(), 0, 'a unit without a position is not drawn');
    assert.equal(await page.locator(tid('map-unit-p01')).getAttribute('data-status'), 'available');
    assert.equal(await page.locator(tid('map-unit-p02')).getAttribute('data-off-post'), '1');
    assert.equal(await page.locator(tid('map-unit-p02')).innerText(), 'КСП-02');
    // The route is a polyline with several points, the post a circle of its radius.
    const d = await page.locator(tid('map-post-route-P-01')).getAttribute('d');
    assert.ok((d.match(/L/g) || []).length >= 3, d);
    // The tooltip: call sign, localized status, how old the position is.
    await page.locator(tid('map-unit-p02')).hover();
    const tipText = await page.locator('.leaflet-tooltip .map-tip').innerText();
    assert.match(tipText, /КСП-02/);
    assert.match(tipText, /В пути/);
    assert.match(tipText, /1 мин назад/);
    assert.match(tipText, /Вне поста/);
    // Layers can be switched off.
    await page.locator(tid('map-layer-posts')).uncheck();
    await waitFor('posts hidden', async () => ({ ok: (await page.locator(tid('map-post-P-01')).count()) === 0 }));
    await page.locator(tid('map-layer-posts')).check();
    await page.locator(tid('map-post-P-01')).waitFor();
    // Kazakh: the map redraws its texts in the other language.
    await page.locator(tid('lang-toggle')).click();
    await page.locator(tid('map-unit-p02')).hover();
    await waitFor('Kazakh tooltip', async () => ({ ok: /Жолда/.test(await page.locator('.leaflet-tooltip .map-tip').innerText().catch(() => '')) }));
    assert.equal(await page.locator('.leaflet-control-zoom-in').getAttribute('title'), 'Жақындату');
    await page.locator(tid('lang-toggle')).click();
  });

  it('r35_the_selected_card_shows_the_caller_point_and_its_accuracy_circle', async () => {
    await page.locator(tid(`map-incident-${card.id}`)).click();
    await page.locator(tid('map-caller')).waitFor();
    const acc = page.locator(tid('map-caller-acc'));
    await acc.waitFor();
    assert.equal(await acc.getAttribute('data-radius-m'), String(CALLER.accuracy_m));
    // The circle on screen is as wide as the accuracy at the map's zoom (Web Mercator metres per
    // pixel), once the map has zoomed to it.
    const fit = await waitFor('accuracy circle in view', async () => {
      const r = await page.evaluate((lat) => {
        const zoom = Number(document.querySelector('[data-testid="map-main"]').getAttribute('data-zoom'));
        const px = document.querySelector('[data-testid="map-caller-acc"]').getBoundingClientRect().width;
        const metresPerPx = 156543.03392 * Math.cos(lat * Math.PI / 180) / Math.pow(2, zoom);
        return { zoom, px, expected: 2 * 120 / metresPerPx };
      }, CALLER.lat);
      return { ok: r.zoom >= 12 && Math.abs(r.px - r.expected) / r.expected < 0.1, ...r };
    });
    assert.ok(fit.px > 15, JSON.stringify(fit));
    assert.match(await page.locator(tid('map-selected')).innerText(), new RegExp(card.number));
    assert.match(await page.locator(tid('map-selected')).innerText(), /Точность ±120 м/);
    await page.mouse.move(5, 5);
    await shotTo(page, 'map-console');
    // The card's own map in the ГУСС tab: the same point, over the node's tiles.
    await page.locator(tid('tab-dispatcher')).click();
    await page.locator(`tr[data-card-id="${card.id}"]`).first().click();
    const mini = page.locator(`${tid('card-map')}[data-has-point="1"]`);
    await mini.waitFor();
    await mini.locator(tid('map-caller')).waitFor();
    await mini.locator(tid('map-caller-acc')).waitFor();
    await waitFor('card map tiles', async () => {
      const all = await loadedTiles(page, tid('card-map'));
      return { ok: all.some((x) => x.loaded && x.w === 256), all: all.length };
    });
  });

  it('HQ\'s dashboard draws its map over the hub\'s tiles', async () => {
    assert.ok(existsSync(CENTRAL_BIN), `central binary not found at ${CENTRAL_BIN}`);
    const port = await freePort();
    const quic = await freePort();
    const cfg = path.join(root, 'central.toml');
    writeFileSync(cfg, '[map]\ntiles = "region.pmtiles"\n');
    hub = await startProcess('central', CENTRAL_BIN, [
      'serve', '--config', cfg, '--data', path.join(root, 'central-data'),
      '--listen', `127.0.0.1:${port}`, '--quic-listen', `127.0.0.1:${quic}`,
    ], { CENTRAL_ADMIN_PASSWORD: ADMIN_TEMP_PASSWORD }, `http://127.0.0.1:${port}`);
    await staff(hub, [{ login: 'hq_map', full_name: 'Дежурный МВД', roles: ['hq_duty'] }]);
    const hq = await openPage(browser, 'hq', errors);
    await login(hq, hub, 'hq_map');
    await hq.locator(tid('tab-map')).click();
    await hq.locator(`${tid('hq-map')}[data-ready="1"][data-tiles="1"]`).waitFor();
    const tiles = await waitFor('HQ tiles loaded', async () => {
      const all = await loadedTiles(hq, tid('hq-map'));
      const good = all.filter((x) => x.loaded && x.w === 256);
      return { ok: good.length >= 4, good: good.length, all: all.length };
    });
    assert.ok(tiles.good >= 4);
    await shotTo(hq, 'map-hq');
    await hq.context().close();
    assert.deepEqual(errors, []);
  });
});
