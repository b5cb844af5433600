// Helpers shared by the end-to-end tests.

import net from 'node:net';

/** A free TCP port on loopback (closed again before it is returned). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The last `n` characters of a log, for error messages. */
export function tail(s, n = 4000) {
  return s.length > n ? '…' + s.slice(-n) : s;
}

/**
 * A page in a fresh browser context (Russian locale, a wide console viewport, `stepTimeoutMs`
 * for every wait); errors thrown in the page are collected in `errors` with `name`.
 */
export async function newPage(browser, name, errors, stepTimeoutMs) {
  const context = await browser.newContext({ viewport: { width: 1500, height: 900 }, locale: 'ru-RU' });
  context.setDefaultTimeout(stepTimeoutMs);
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`[${name}] ${e.message}`));
  return page;
}

/** Logs into the operator console at `base` and waits until it shows the logout button. */
export async function consoleLogin(page, base, login, password) {
  await page.goto(base + '/');
  await page.locator('[data-testid="login-form"]').waitFor();
  await page.locator('[data-testid="login-login"]').fill(login);
  await page.locator('[data-testid="login-password"]').fill(password);
  await page.locator('[data-testid="login-submit"]').click();
  await page.locator('[data-testid="logout"]').waitFor();
}

