// Browser test of the agent's page (/agent): real Chromium driven by
// playwright-core.
//
//   BASE_URL=http://127.0.0.1:8080 AGENT_LOGIN=bob AGENT_PASSWORD=... TOKEN=... node agent.mjs
//
// Environment:
//   BASE_URL        the box, with a site where AGENT_LOGIN is bound to an
//                   agent in queues "service" and "sales"
//   AGENT_LOGIN     the agent's web login, AGENT_PASSWORD its password
//   AGENT_ID        the agent's id
//   TOKEN           an admin API token: changes "from elsewhere"
//   CHROMIUM        browser binary (default /usr/bin/chromium)
//   SCREENSHOT      write a PNG of the page here
//
// It logs the agent in, opens their desk, logs in to all queues and out of
// one from the page, then changes the agent's status through the API (as
// the box's button or another tab would) and checks the page follows
// within a second or two; notifications in a headless browser are blocked,
// and the page must say so. Any page error or CSP violation fails it.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const LOGIN = process.env.AGENT_LOGIN || 'bob';
const PASSWORD = process.env.AGENT_PASSWORD || '';
const AGENT = process.env.AGENT_ID || 'bob';
const TOKEN = process.env.TOKEN || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = process.env.SCREENSHOT || '';
const TIMEOUT = 10000;

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const ok = (msg) => console.log('ok: ' + msg);

async function waitText(page, sel, re, what) {
  try {
    await page.waitForFunction(([s, src]) => new RegExp(src).test(document.querySelector(s)?.textContent || ''), [sel, re.source], { timeout: TIMEOUT });
  } catch {
    fail(`${what}: ${sel} shows "${await page.textContent(sel)}", want ${re}`);
  }
}

async function api(method, path, body) {
  const res = await fetch(BASE + path, {
    method, headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) fail(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
}

async function main() {
  if (!BASE || !PASSWORD || !TOKEN) fail('BASE_URL, AGENT_PASSWORD and TOKEN are required');
  if (!existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}`);
  const dir = mkdtempSync(join(tmpdir(), 'ringbox-agent-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    viewport: { width: 1200, height: 900 },
  });
  ctx.setDefaultTimeout(TIMEOUT);
  const page = ctx.pages()[0] || (await ctx.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push('uncaught: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource') && !m.text().includes('WebSocket')) problems.push(m.text());
  });
  try {
    await page.goto(BASE + '/agent');
    if (new URL(page.url()).pathname !== '/login') fail(`/agent without a session went to ${page.url()}, want /login`);
    await page.fill('#login', LOGIN);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL((u) => u.pathname === '/agent');
    ok('the login page brings the agent back to /agent');

    await page.waitForSelector('#stream-state[data-state="live"]');
    await waitText(page, '#st-status', /Logged out/, 'status at start');
    ok('desk shows the agent logged out, stream live');

    await page.click('#st-login');
    await waitText(page, '#st-status', /^Available/, 'after "log in to all"');
    await page.waitForSelector('#queues tbody tr:has-text("Sales") button:has-text("Log out")');
    ok('logged in to all queues from the page');

    await page.click('#queues tbody tr:has-text("Sales") button');
    await page.waitForSelector('#queues tbody tr:has-text("Sales") td:has-text("logged out")');
    await page.waitForSelector('#queues tbody tr:has-text("Service") td:has-text("logged in")');
    ok('logged out of Sales alone');

    // From elsewhere (the box's button, *46, another tab): the page follows.
    const t0 = Date.now();
    await api('POST', `/api/v1/agents/${AGENT}/unavailable`, { reason: 'lunch' });
    await waitText(page, '#st-status', /Unavailable \(lunch\)/, 'after a change through the API');
    ok(`an outside change showed in ${Date.now() - t0} ms`);

    await page.selectOption('#unavail-reason', 'meeting');
    await page.fill('#unavail-until', '23:59');
    await page.click('#unavail-form button[type=submit]');
    await waitText(page, '#st-status', /Unavailable \(meeting\), back at/, 'unavailable with a return time');
    ok('unavailable for a meeting with a return time');

    await page.click('#st-available');
    await waitText(page, '#st-status', /^Available/, 'back to available');
    await waitText(page, '#today-answered', /^\d+$/, 'today');
    ok('available again; today\'s figures shown');

    const msg = await page.textContent('#notify-msg');
    const btnHidden = await page.isHidden('#notify-on');
    if (!btnHidden) {
      await page.click('#notify-on');
      await waitText(page, '#notify-msg', /blocked|cannot|on/, 'after asking for notifications');
    } else if (!msg) {
      fail('notifications: neither a button nor a message');
    }
    ok(`notifications: "${await page.textContent('#notify-msg')}"`);

    await api('POST', `/api/v1/agents/${AGENT}/logout`);
    await waitText(page, '#st-status', /Logged out/, 'after logout through the API');
    ok('logout elsewhere shows');
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
    if (problems.length) fail('page problems:\n  ' + problems.join('\n  '));
  } finally {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e instanceof Failure ? 'FAIL: ' + e.message : e);
  process.exit(1);
});
