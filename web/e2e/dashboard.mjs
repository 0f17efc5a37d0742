// Browser test of the live dashboard (/live) and a queue wallboard
// (/wallboard/{queue}): real Chromium driven by playwright-core.
//
//   BASE_URL=http://127.0.0.1:8080 node dashboard.mjs
//
// Environment:
//   BASE_URL          the box (required); a site with at least one queue
//   RINGBOX_LOGIN     admin login to create on first boot, or to log in with
//   RINGBOX_PASSWORD  its password
//   CHROMIUM          browser binary (default /usr/bin/chromium)
//   SCREENSHOT_DIR    write PNGs of the wallboard (1920x1080, 1280x720) and /live here
//   EXPECT_CALL       a call in progress from this number to EXPECT_CALL_TO
//   EXPECT_CALL_TO    (an extension): /live must list it as talking, and its
//                     Hang up button must end it
//
// It checks that the wallboard fits a 1920x1080 and a 1280x720 screen with
// no scrollbars and large figures, that both pages follow an agent logging
// in and out through the API without a reload (event stream, then a fetch),
// and that neither page breaks the Content-Security-Policy. Any failure
// exits 1 with the reason.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const LOGIN = process.env.RINGBOX_LOGIN || 'installer';
const PASSWORD = process.env.RINGBOX_PASSWORD || 'Correct-Horse-Battery-42';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.SCREENSHOT_DIR || '';
const CALL_FROM = process.env.EXPECT_CALL || '';
const CALL_TO = process.env.EXPECT_CALL_TO || '';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 15000;

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const ok = (msg) => console.log('ok: ' + msg);

async function main() {
  if (!BASE) fail('BASE_URL is required');
  const dir = mkdtempSync(join(tmpdir(), 'ringbox-dash-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args: ARGS, ignoreHTTPSErrors: true,
    viewport: { width: 1920, height: 1080 },
  });
  ctx.setDefaultTimeout(TIMEOUT);
  try {
    const page = ctx.pages()[0] || (await ctx.newPage());
    const problems = [];
    page.on('pageerror', (e) => problems.push('uncaught: ' + e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    const api = async (method, path, body) => {
      const r = await page.request.fetch(BASE + path, {
        method, headers: { 'X-Requested-With': 'ringbox', 'Content-Type': 'application/json' },
        data: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status(), data: text && r.headers()['content-type']?.startsWith('application/json') ? JSON.parse(text) : null };
    };

    // First boot, or log in.
    let r = await api('POST', '/api/v1/setup', { login: LOGIN, password: PASSWORD, confirm: PASSWORD });
    if (r.status === 409) r = await api('POST', '/api/v1/session', { login: LOGIN, password: PASSWORD });
    if (r.status !== 200 && r.status !== 201) fail('log in: HTTP ' + r.status);

    const qs = (await api('GET', '/api/v1/queues')).data || [];
    if (!qs.length) fail('the site has no queue');
    const q = qs[0];
    const agents = (await api('GET', '/api/v1/agents')).data || [];
    const agent = agents.find((a) => a.queues.includes(q.id) && !a.off_hours && a.state === 'idle');
    if (!agent) fail('no agent of queue ' + q.id + ' is idle within working hours');
    await api('POST', '/api/v1/agents/' + agent.id + '/logout');

    // ---- the wallboard ----
    await page.goto(BASE + '/wallboard/' + q.id);
    await page.waitForFunction(() => document.querySelector('#stream-state').dataset.state === 'live');
    await page.waitForFunction(() => document.querySelector('#wb-available').textContent !== '–');
    await page.evaluate(() => { window.notReloaded = true; });
    const fits = async (label) => {
      const m = await page.evaluate(() => ({
        sw: document.documentElement.scrollWidth, sh: document.documentElement.scrollHeight,
        w: innerWidth, h: innerHeight,
        num: parseFloat(getComputedStyle(document.querySelector('#wb-waiting')).fontSize),
        label: parseFloat(getComputedStyle(document.querySelector('.wb-tile h2')).fontSize),
        clipped: [...document.querySelectorAll('.wb-tile')].filter((t) => t.scrollHeight > t.clientHeight + 1 || t.scrollWidth > t.clientWidth + 1).length,
      }));
      if (m.sw > m.w || m.sh > m.h) fail(`${label}: the wallboard scrolls (${m.sw}x${m.sh} in ${m.w}x${m.h})`);
      if (m.clipped) fail(`${label}: ${m.clipped} tiles cut their content`);
      // Readable across a room: figures at least a tenth of the screen's
      // height, labels at least 2.5% of it.
      if (m.num < m.h / 10 || m.label < m.h / 40) fail(`${label}: figures ${m.num}px, labels ${m.label}px are too small`);
      ok(`${label}: no scrollbars, figures ${m.num}px, labels ${m.label}px`);
      if (SHOTS) await page.screenshot({ path: join(SHOTS, `wallboard-${m.w}x${m.h}.png`) });
    };
    await fits('1920x1080');
    const before = Number(await page.textContent('#wb-available'));
    const t0 = Date.now();
    await api('POST', '/api/v1/agents/' + agent.id + '/login');
    await page.waitForFunction((n) => Number(document.querySelector('#wb-available').textContent) === n, before + 1);
    ok(`wallboard: available ${before} -> ${before + 1} ${Date.now() - t0} ms after the agent logged in`);
    await page.setViewportSize({ width: 1280, height: 720 });
    await fits('1280x720');
    // The longest wait ticks even with nobody waiting: it shows 0:00.
    if ((await page.textContent('#wb-longest')) !== '0:00') fail('longest wait with nobody waiting: ' + await page.textContent('#wb-longest'));
    if (!(await page.evaluate(() => window.notReloaded))) fail('the wallboard reloaded');

    // ---- /live ----
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(BASE + '/live');
    await page.waitForFunction(() => document.querySelector('#stream-state').dataset.state === 'live');
    await page.waitForSelector(`#agents tr[data-key="${agent.id}"]`);
    await page.evaluate(() => { window.notReloaded = true; });
    const pill = () => page.textContent(`#agents tr[data-key="${agent.id}"] .pill`);
    if (!(await pill()).startsWith('available')) fail('live: agent shows ' + await pill() + ', want available');
    if (!(await page.$(`#queues tr[data-key="${q.id}"] a[href="/wallboard/${q.id}"]`))) fail('live: no wallboard link for ' + q.id);
    if (CALL_FROM) {
      // The call in progress, then the admin's Hang up.
      const row = `#calls tbody tr:has(td:first-child:has-text("${CALL_FROM}"))`;
      await page.waitForSelector(row);
      const cells = await page.$$eval(row + ' td', (tds) => tds.map((td) => td.textContent));
      if (cells[2] !== 'talking' || !cells[5].includes('extension:' + CALL_TO)) fail('live: the call shows ' + JSON.stringify(cells));
      ok('live: call from ' + CALL_FROM + ' listed: ' + JSON.stringify(cells.slice(0, 6)));
      page.once('dialog', (d) => d.accept());
      const t2 = Date.now();
      await page.click(row + ' button');
      await page.waitForSelector(row, { state: 'detached' });
      ok(`live: Hang up ended the call; its row went ${Date.now() - t2} ms after the click`);
    }
    await page.waitForSelector('#calls-empty', { state: 'visible' });
    const t1 = Date.now();
    await api('POST', '/api/v1/agents/' + agent.id + '/logout');
    await page.waitForFunction((id) => document.querySelector(`#agents tr[data-key="${id}"] .pill`).textContent === 'logged out', agent.id);
    ok(`live: agent ${agent.id} shown logged out ${Date.now() - t1} ms after logging out`);
    if (!(await page.evaluate(() => window.notReloaded))) fail('the live page reloaded');
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'live.png'), fullPage: true });

    if (problems.length) fail('browser errors:\n  ' + problems.join('\n  '));
    ok('no script errors or CSP violations');
  } finally {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => {
  console.error('FAIL: ' + (e instanceof Failure ? e.message : e.stack || e));
  process.exit(1);
});
