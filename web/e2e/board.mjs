// Browser test of the board page (/board) against a test server with a
// simulated board and a fake line engine (web/board_browser_test.go).
//
//   BASE_URL=http://127.0.0.1:PORT COOKIE=rbx_session=... SHOTS=/dir node board.mjs
//
// The page must draw the LEDs with the exact blink patterns, lift the
// phone on fxs:1 and show it off hook with the engine at dial tone, make
// the exchange call the box, press a button and (after a confirm) the
// service button, and fit a 375 px screen. Screenshots go to SHOTS.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const COOKIE = process.env.COOKIE || '';
const SHOTS = process.env.SHOTS || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 10000;

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const ok = (msg) => console.log('ok: ' + msg);

async function main() {
  if (!BASE || !COOKIE) fail('BASE_URL and COOKIE are required');
  if (!existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}`);
  const dir = mkdtempSync(join(tmpdir(), 'ringbox-board-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  ctx.setDefaultTimeout(TIMEOUT);
  const [name, value] = COOKIE.split(/=(.*)/s);
  await ctx.addCookies([{ name, value, url: BASE }]);
  const page = ctx.pages()[0] || (await ctx.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push('uncaught: ' + e.message));
  // The refused control below logs its 409 as a failed load: expected.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
  const text = (sel) => page.textContent(sel);
  const waitText = (sel, re) => page.waitForFunction(([s, r]) => {
    const e = document.querySelector(s);
    return e && new RegExp(r).test(e.textContent);
  }, [sel, re.source]);
  try {
    await page.goto(BASE + '/board');
    if (!(await page.isVisible('nav a[href="/board"][aria-current="page"]'))) fail('no current "Board" link in the top bar');
    await waitText('#poll-state', /live/);
    const fxs = '[data-port="fxs:1"]';
    await waitText(fxs + ' .hook', /on hook/);
    await waitText(fxs + ' .engine', /idle/);
    ok('fxs:1 drawn: ' + (await text(fxs + ' .hook')) + ' / engine ' + (await text(fxs + ' .engine')));

    // LEDs blink with the exact patterns.
    const anim = (sel) => page.$eval(sel, (e) => {
      const s = getComputedStyle(e);
      return s.animationName + ' ' + s.animationDuration + ' ' + e.dataset.led;
    });
    const want = {
      '#buttons li:nth-child(1) .led': 'led-slow 1s slow_blink',
      '#buttons li:nth-child(2) .led': 'led-fast 0.2s fast_blink',
      '#queue-leds li:nth-child(1) .led': 'led-double 1s double_blink',
      '#buttons li:nth-child(3) .led': 'none 0s on',
    };
    for (const [sel, w] of Object.entries(want)) {
      const got = await anim(sel);
      if (got !== w) fail(`${sel}: animation "${got}", want "${w}"`);
    }
    ok('LEDs: slow, fast and double blink animate as the board sets them');
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'board.png'), fullPage: true });

    // Lift the phone: the sim and the engine both change.
    await page.click(fxs + ' .lift');
    await waitText(fxs + ' .hook', /off hook/);
    await waitText(fxs + ' .engine', /dial tone/);
    ok('lifted: ' + (await text(fxs + ' .hook')) + ' / engine ' + (await text(fxs + ' .engine')));
    // The key's 160 ms of DTMF is too short for a 500 ms poll to see;
    // the Go side checks the port heard it.
    await page.click(fxs + ' .key[data-key="4"]');
    await page.waitForTimeout(300);
    if (await text(fxs + ' .msg')) fail('keypad: ' + (await text(fxs + ' .msg')));
    ok('keypad: 4 sent');

    // The exchange calls the box.
    const fxo = '[data-port="fxo:1"]';
    await page.fill(fxo + ' input[name=number]', '+15550100');
    await page.fill(fxo + ' input[name=name]', 'Ann Caller');
    await page.click(fxo + ' form.call button[type=submit]');
    await waitText(fxo + ' .xstate', /calling the box/);
    await page.waitForSelector(fxo + ' .ring-ind', { state: 'visible' });
    ok('the exchange rings the box: ' + (await text(fxo + ' .xstate')));
    await page.uncheck(fxo + ' .battery');
    await waitText(fxo + ' .volts', /no battery/);
    ok('battery removed: ' + (await text(fxo + ' .volts')));

    // A bad control says why.
    await page.click(fxo + ' .hangup');
    await waitText(fxo + ' .msg', /.+/);
    ok('hang-up with no call says: ' + (await text(fxo + ' .msg')));

    // Buttons: a short press, and the service button after a confirm.
    await page.click('[data-button="1"]');
    if (await page.isVisible('#service-confirm')) fail('service confirm shown before asking');
    await page.click('#service');
    await page.waitForSelector('#service-confirm', { state: 'visible' });
    await page.click('#service-yes');
    await page.waitForSelector('#service-confirm', { state: 'hidden' });
    ok('pressed button 1 and, after confirming, the service button');
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'board-busy.png'), fullPage: true });

    // 375 px: nothing sideways.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForTimeout(300);
    const sw = await page.evaluate(() => document.documentElement.scrollWidth);
    if (sw > 375) fail(`at 375 px the page is ${sw} px wide`);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'board-375.png'), fullPage: true });
    ok('fits 375 px');
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
