// Browser test of the agent page's incoming-call banner, against a test
// server that has a call ringing the agent (web/agentdesk_browser_test.go).
//
//   BASE_URL=http://127.0.0.1:PORT COOKIE=rbx_session=... node agent-offer.mjs
//
// The page must pop the ringing call up (caller, via, a ticking wait, the
// caller's earlier call with its note), save a note, and on Decline see
// the banner go away when the box says the offer ended.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const COOKIE = process.env.COOKIE || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 10000;

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const ok = (msg) => console.log('ok: ' + msg);

async function main() {
  if (!BASE || !COOKIE) fail('BASE_URL and COOKIE are required');
  if (!existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}`);
  const dir = mkdtempSync(join(tmpdir(), 'ringbox-offer-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  ctx.setDefaultTimeout(TIMEOUT);
  const [name, value] = COOKIE.split(/=(.*)/s);
  await ctx.addCookies([{ name, value, url: BASE }]);
  const page = ctx.pages()[0] || (await ctx.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push('uncaught: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource') && !m.text().includes('WebSocket')) problems.push(m.text());
  });
  try {
    await page.goto(BASE + '/agent');
    await page.waitForSelector('#offer:not([hidden])');
    const who = (await page.textContent('#offer-name')) + ' ' + (await page.textContent('#offer-number'));
    if (!who.includes('Ann Caller') || !who.includes('+15550100')) fail(`banner shows "${who}"`);
    const via = await page.textContent('#offer-via');
    if (via !== 'queue:service') fail(`via "${via}"`);
    ok(`banner: ${who} via ${via}`);
    const w1 = await page.textContent('#offer-waited');
    await page.waitForFunction((w) => document.querySelector('#offer-waited').textContent !== w, w1);
    ok(`the wait ticks (${w1} → ${await page.textContent('#offer-waited')})`);
    await page.waitForSelector('#offer-history li:has-text("asked about the invoice")');
    ok('history shows the earlier call with its note');
    if (!(await page.isHidden('#offer-accept'))) fail('Accept shown though the browser is not ringing');

    await page.fill('#note-text', 'second call about the invoice');
    await page.click('#note-form button[type=submit]');
    await page.waitForFunction(() => /Saved/.test(document.querySelector('#note-msg').textContent));
    ok('note saved');

    await page.click('#offer-decline');
    await page.waitForSelector('#offer', { state: 'hidden' });
    ok('declined: the banner went away when the offer ended');
    await page.waitForFunction(() => document.querySelector('#today-declined').textContent === '1');
    ok('today counts the decline');
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
