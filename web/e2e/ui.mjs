// Browser test of the Ringbox web UI: real Chromium driven by playwright-core.
//
//   BASE_URL=http://127.0.0.1:8080 node ui.mjs
//
// Environment:
//   BASE_URL          the box (required)
//   RINGBOX_LOGIN     admin login to create on first boot, or to log in with
//   RINGBOX_PASSWORD  its password
//   CHROMIUM          browser binary (default /usr/bin/chromium)
//   SCREENSHOT        write a PNG of the dashboard here
//   EXPECT_EXTENSION  text the Extensions section's table must show
//
// It walks first boot (or the login page, when the box is set up already),
// checks the dashboard's health card and live event stream (a login in a
// second browser must show up as a user.login event), a section page, logout,
// and that the API refuses the logged-out browser. Any failure exits 1 with
// the reason.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const LOGIN = process.env.RINGBOX_LOGIN || 'installer';
const PASSWORD = process.env.RINGBOX_PASSWORD || 'Correct-Horse-Battery-42';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = process.env.SCREENSHOT || '';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 15000;

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const ok = (msg) => console.log('ok: ' + msg);

const dirs = [];
const contexts = [];

async function browser() {
  const dir = mkdtempSync(join(tmpdir(), 'ringbox-ui-'));
  dirs.push(dir);
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    ignoreHTTPSErrors: true, // the box's certificate is self-signed
    viewport: { width: 1200, height: 800 },
  });
  ctx.setDefaultTimeout(TIMEOUT);
  contexts.push(ctx);
  const page = ctx.pages()[0] || (await ctx.newPage());
  // CSP violations and uncaught exceptions are bugs; failed requests
  // (401/400 answers the test provokes) are not.
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push('uncaught: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.problems.push(m.text());
  });
  return page;
}

const path = (page) => new URL(page.url()).pathname;

async function waitPath(page, want, what) {
  try {
    await page.waitForURL((u) => u.pathname === want, { timeout: TIMEOUT });
  } catch {
    fail(`${what}: expected to be on ${want}, still on ${path(page)}`);
  }
}

async function logIn(page) {
  await page.fill('#login', LOGIN);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await waitPath(page, '/', 'after logging in');
}

async function main() {
  if (!BASE) fail('BASE_URL is not set');
  if (!existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}`);

  const page = await browser();
  const res = await page.goto(BASE + '/');
  if (!res) fail(`no answer from ${BASE}/`);

  if (path(page) === '/setup') {
    ok('first boot redirects to /setup');
    // An obvious password is refused by the box, with a reason shown.
    await page.fill('#login', LOGIN);
    await page.fill('#password', 'password12');
    await page.fill('#confirm', 'password12');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#form-error').textContent.length > 0);
    const why = await page.textContent('#form-error');
    if (path(page) !== '/setup') fail('a weak admin password was accepted');
    ok(`weak password refused: "${why}"`);
    await page.fill('#password', PASSWORD);
    await page.fill('#confirm', PASSWORD);
    await page.click('button[type=submit]');
    await waitPath(page, '/', 'after setup');
    ok('admin created, on the dashboard');
  } else if (path(page) === '/login') {
    ok('box already set up: login page');
    await logIn(page);
  } else {
    fail(`expected a redirect to /setup or /login, got ${page.url()}`);
  }

  // Health card shows what the API says.
  const health = await (await page.request.get(BASE + '/api/v1/health')).json();
  try {
    await page.waitForFunction((v) => document.querySelector('#health-version')?.textContent === v,
      health.version || 'unknown', { timeout: TIMEOUT });
  } catch {
    fail(`dashboard firmware is "${await page.textContent('#health-version')}", API says "${health.version}"`);
  }
  const uptime = await page.textContent('#health-uptime');
  if (!/\d+ s$/.test(uptime)) fail(`uptime shows "${uptime}"`);
  ok(`dashboard shows firmware ${health.version}, up ${uptime}`);

  try {
    await page.waitForSelector('#stream-state[data-state="live"]', { timeout: TIMEOUT });
  } catch {
    fail(`event stream never went live (state: ${await page.getAttribute('#stream-state', 'data-state')})`);
  }
  ok('event stream is live');

  // A login elsewhere appears on this dashboard as it happens.
  const other = await browser();
  await other.goto(BASE + '/login');
  if (path(other) !== '/login') fail(`second browser: expected /login, got ${other.url()}`);
  await logIn(other);
  ok('second browser logged in');
  const row = `#events tbody tr[data-type="user.login"]:has-text('"login":"${LOGIN}"')`;
  try {
    await page.waitForSelector(row, { timeout: TIMEOUT });
  } catch {
    fail('the second login never appeared in the first dashboard\'s live events');
  }
  ok('user.login event appeared live on the first dashboard');
  if (SCREENSHOT) {
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    ok(`screenshot written to ${SCREENSHOT}`);
  }

  // A section page renders whatever the firmware offers, or says it has none.
  await page.click('nav a[href="/extensions"]');
  await waitPath(page, '/extensions', 'Extensions link');
  await page.waitForFunction(() => {
    const m = document.querySelector('#main');
    return m.querySelector('table, dl, ul') || /not available|None yet|cannot see/.test(m.textContent);
  });
  const expect = process.env.EXPECT_EXTENSION;
  if (expect) {
    try {
      await page.waitForSelector(`#main table td:has-text("${expect}")`, { timeout: TIMEOUT });
    } catch {
      fail(`Extensions section does not list "${expect}": ${await page.textContent('#main')}`);
    }
  }
  ok('Extensions section rendered' + (expect ? ` with "${expect}" in a table` : ''));
  await page.click('nav a[href="/"]');
  await waitPath(page, '/', 'Dashboard link');

  if (page.problems.length) fail('browser reported: ' + page.problems.join(' | '));
  if (other.problems.length) fail('second browser reported: ' + other.problems.join(' | '));
  ok('no CSP violations or script errors');

  await page.click('#logout');
  await waitPath(page, '/login', 'after logout');
  const status = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
  if (status !== 401) fail(`GET /api/v1/me after logout answered ${status}, want 401`);
  ok('logged out: /api/v1/me answers 401');
  await page.goto(BASE + '/');
  if (path(page) !== '/login') fail(`after logout / goes to ${path(page)}, want /login`);
  ok('after logout the dashboard redirects to /login');
}

let code = 0;
try {
  await main();
  console.log('PASS: web UI');
} catch (e) {
  console.error('FAIL: web UI: ' + (e instanceof Failure ? e.message : (e && e.stack) || e));
  code = 1;
} finally {
  for (const c of contexts) await c.close().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
process.exit(code);
