// Browser test of the System page (/system) against a test server with
// the firmware updater over slot files, a log ring and temporary settings
// files (web/system_browser_test.go).
//
//   BASE_URL=http://127.0.0.1:PORT LOGIN=root PASSWORD=pw SHOTS=/dir \
//   BUNDLE=new.raucb STRANGER_BUNDLE=other.raucb node system.mjs
//
// An admin logs in with the login form, opens System from the top bar,
// sees the version, the slots and the last rollback with its reason,
// uploads BUNDLE (version 1.5.1: progress bar for the upload, then the
// install's progress, then the pending slot and Reboot now), sees
// STRANGER_BUNDLE (signed by a key the box does not trust) refused in the
// box's own words, saves a static
// network after seeing the error at a bad address, filters the log by
// level, is told a reboot needs the appliance, and the page fits 375 px.
// Screenshots go to SHOTS.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const LOGIN = process.env.LOGIN || '';
const PASSWORD = process.env.PASSWORD || '';
const SHOTS = process.env.SHOTS || '';
const BUNDLE = process.env.BUNDLE || '';
const STRANGER_BUNDLE = process.env.STRANGER_BUNDLE || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 10000;

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const ok = (msg) => console.log('ok: ' + msg);

async function main() {
  if (!BASE || !LOGIN || !BUNDLE || !STRANGER_BUNDLE) fail('BASE_URL, LOGIN, BUNDLE and STRANGER_BUNDLE are required');
  if (!existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}`);
  const dir = mkdtempSync(join(tmpdir(), 'ringbox-system-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  ctx.setDefaultTimeout(TIMEOUT);
  const page = ctx.pages()[0] || (await ctx.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push('uncaught: ' + e.message));
  // The refused upload (422), the bad form (400) and the reboot off the
  // appliance (409) are logged by the browser as failed loads: expected.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
  const text = async (sel) => ((await page.textContent(sel)) || '').trim();
  const waitText = (sel, re) => page.waitForFunction(([s, r]) => {
    const e = document.querySelector(s);
    return e && new RegExp(r).test(e.textContent);
  }, [sel, re.source]);
  try {
    // Log in as the admin, with the keyboard.
    await page.goto(BASE + '/login');
    await page.fill('#login', LOGIN);
    await page.fill('#password', PASSWORD);
    await page.press('#password', 'Enter');
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    await page.click('nav a[href="/system"]');
    await page.waitForURL(/\/system$/);
    if (!(await page.isVisible('nav a[href="/system"][aria-current="page"]'))) fail('no current "System" link in the top bar');
    ok('logged in as ' + LOGIN + ' and opened System from the top bar');

    // Firmware: version, slots, the rollback and why.
    if ((await text('#fw-version')) !== '1.4.2') fail('version shown: ' + (await text('#fw-version')));
    if (!/slot A/.test(await text('#fw-booted'))) fail('booted slot: ' + (await text('#fw-booted')));
    const slots = await page.$$eval('#fw-slots tbody tr', (rows) => rows.map((r) => r.innerText.replace(/\s+/g, ' ').trim()));
    if (slots.length !== 2 || !/^A booted 1\.4\.2 good/.test(slots[0]) || !/^B 1\.5\.0 bad/.test(slots[1])) fail('slots: ' + JSON.stringify(slots));
    const rb = await text('#fw-rollback');
    if (!/slot B with version 1\.5\.0 did not come up/.test(rb) || !/Reason: health check failed: SIP did not answer within 60 s/.test(rb)) fail('rollback and its reason not shown: ' + rb);
    ok('firmware: 1.4.2 booted from A; slots ' + JSON.stringify(slots) + '; the rollback and its reason shown');
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'system.png'), fullPage: true });

    // Upload a bundle: the progress bar moves, the answer is shown, then Reboot now.
    await page.evaluate(() => {
      window.__progress = [];
      const bar = document.querySelector('#fw-progress');
      new MutationObserver(() => window.__progress.push(bar.value)).observe(bar, { attributes: true });
      const set = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, 'value').set;
      Object.defineProperty(bar, 'value', { set(v) { set.call(this, v); window.__progress.push(v); }, get() { return this.getAttribute('value') * 1; } });
    });
    await page.setInputFiles('#fw-file', BUNDLE);
    await page.click('#fw-submit');
    await waitText('#fw-msg', /Writing the inactive slot… \d+%/);
    ok('install progress: ' + (await text('#fw-msg')));
    await waitText('#fw-msg', /Installed version 1\.5\.1 into slot B/);
    if (!(await page.isVisible('#fw-reboot button'))) fail('no Reboot now button after the install');
    const prog = await page.evaluate(() => window.__progress);
    if (!prog.includes(100)) fail('the progress bar never reached 100: ' + JSON.stringify(prog));
    ok('upload: progress ' + JSON.stringify(prog) + '; ' + (await text('#fw-msg')));
    // The stranger's bundle, forced: the box still checks the signature.
    await page.setInputFiles('#fw-file', STRANGER_BUNDLE);
    await page.check('#fw-force');
    const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().includes('/api/v1/system/firmware'));
    await page.click('#fw-submit');
    if (!/[?]force=1$/.test((await posted).url())) fail('the forced upload went to ' + (await posted).url());
    await waitText('#fw-msg', /bundle signature not valid: .*certificate signed by unknown authority/);
    if (await page.isVisible('#fw-reboot button')) fail('Reboot now offered after a refused bundle');
    ok('a bundle signed by a stranger: ' + (await text('#fw-msg')));

    // Network: a bad address is refused at its field, then a good one saved.
    await page.check('input[name=mode][value=static]');
    if (!(await page.isVisible('#address'))) fail('the static fields stay hidden after choosing Static');
    await page.fill('#address', '10.0.2.300/24');
    await page.fill('#gateway', '10.0.2.2');
    await page.fill('#dns', '10.0.2.3');
    await page.fill('#hostname', 'pbx-office');
    await page.click('#net-form button[type=submit]');
    await page.waitForSelector('#address-err');
    const err = await text('#address-err');
    if (!/not an address with a prefix length/.test(err)) fail('address error: ' + err);
    if ((await page.getAttribute('#address', 'aria-invalid')) !== 'true') fail('the address is not marked invalid');
    if ((await page.inputValue('#address')) !== '10.0.2.300/24') fail('the address typed was lost');
    ok('bad address refused at the field: ' + err);
    await page.fill('#address', '10.0.2.15/24');
    await page.click('#net-form button[type=submit]');
    await waitText('.flash-ok', /Network settings saved\. They apply at the next reboot\./);
    if ((await page.inputValue('#address')) !== '10.0.2.15/24') fail('saved address not shown');
    ok('static network saved: ' + (await text('.flash-ok')));

    // The log, filtered by level without a reload.
    const levels = () => page.$$eval('#log-table tbody tr', (rows) => rows.map((r) => r.dataset.level));
    if (!(await levels()).includes('info')) fail('info lines missing from the default log');
    await page.selectOption('#log-level', 'warn');
    await page.waitForFunction(() => [...document.querySelectorAll('#log-table tbody tr')].every((r) => r.dataset.level === 'warn' || r.dataset.level === 'error'));
    const warn = await levels();
    if (!warn.includes('warn') || !warn.includes('error')) fail('warn filter shows ' + JSON.stringify(warn));
    await page.selectOption('#log-level', 'error');
    await page.waitForFunction(() => [...document.querySelectorAll('#log-table tbody tr')].every((r) => r.dataset.level === 'error'));
    if (!/smtp: connection refused/.test(await text('#log-table tbody'))) fail('the error line lacks its attributes');
    if (!/level=error/.test(page.url())) fail('the filter is not in the address: ' + page.url());
    ok('log filtered: warn → ' + JSON.stringify(warn) + ', error → ' + (await text('#log-count')));

    // Reboot, from the keyboard, after the confirmation: not an appliance.
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); d.accept(); });
    await page.focus('#power button[data-power="reboot"]');
    await page.keyboard.press('Enter');
    await waitText('#power-msg', /not an appliance: restart the process yourself/);
    if (!/Reboot the box now\?/.test(asked)) fail('no confirmation before the reboot: ' + asked);
    ok('reboot asked "' + asked + '" and answered: ' + (await text('#power-msg')));

    // 375 px: nothing sideways.
    await page.goto(BASE + '/system');
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForTimeout(300);
    const sw = await page.evaluate(() => document.documentElement.scrollWidth);
    if (sw > 375) fail(`at 375 px the page is ${sw} px wide`);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'system-375.png'), fullPage: true });
    ok('fits 375 px');
    // After the install the card shows the new version waiting in slot B.
    const card = await text('#firmware');
    if (!/Version 1\.5\.1 is installed in slot B: it runs after a reboot\./.test(card)) fail('the pending install is not on the reloaded page');
    if (await page.isVisible('#fw-rollback')) fail('the old rollback is still shown after a newer install');
    ok('reloaded: 1.5.1 waits in slot B for the reboot');
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
