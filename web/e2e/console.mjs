// The installer's console in a real browser: Chromium driven by
// playwright-core against the real `ringbox serve` (the Go test
// firmware/cmd/ringbox/console_e2e_test.go starts it and places the calls).
//
//   BASE_URL=http://127.0.0.1:8080 PHASE=dayone node console.mjs
//
// The Go test runs the phases in order, with SIPp calls in between:
//   dayone   first boot, then a whole site set up in the browser, applied
//   change   the DID goes to voicemail instead, applied
//   restore  the day-one version restored from the history, applied
//   checks   a form with three mistakes; manager and agent refused; the
//            second of two installers' applies refused; screenshots of
//            every page at 1280 and 375 px
//   backup   a backup downloaded, a change applied, the backup restored
//            through the page (the box restarts), the change gone
//
// Environment: BASE_URL, PHASE, PROFILE (browser profile directory kept
// between phases), SHOTS (screenshot directory), GREETING_MP3, CARRIER
// (host:port of the carrier), DID, VERSION (the version to restore).
// Any failure exits 1 with the reason.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const PHASE = process.env.PHASE || 'dayone';
const PROFILE = process.env.PROFILE;
const SHOTS = process.env.SHOTS || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LOGIN = 'installer';
const PASSWORD = 'Day-One-Installer-77';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const ok = (msg) => console.log('ok: ' + msg);
const contexts = [];

async function open(profile) {
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 },
  });
  ctx.setDefaultTimeout(15000);
  contexts.push(ctx);
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push('uncaught: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.problems.push(m.text());
  });
  page.on('dialog', (d) => d.accept());
  return page;
}

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: true });
}

// flash returns the page's flash messages after an action.
async function flash(page) {
  return (await page.locator('.flash').allTextContents()).join(' | ');
}

async function expectFlash(page, text, what) {
  const f = await flash(page);
  if (!f.includes(text)) fail(`${what}: flash is "${f}", want "${text}"`);
  ok(what);
}

async function goto(page, path) {
  const r = await page.goto(BASE + path);
  if (!r) fail('no answer for ' + path);
  return r;
}

async function loginIfNeeded(page) {
  await goto(page, '/console');
  if (page.url().includes('/setup')) {
    await page.fill('#login', LOGIN);
    await page.fill('#password', PASSWORD);
    await page.fill('#confirm', PASSWORD);
    await shot(page, 'setup-1280');
    await Promise.all([page.waitForURL(BASE + '/'), page.click('button[type=submit]')]);
    ok('first boot: the administrator was created');
    await goto(page, '/console');
  }
  if (page.url().includes('/login')) {
    await page.fill('#login', LOGIN);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(/\/console$/), page.click('button[type=submit]')]);
  }
  if (!page.url().endsWith('/console')) fail('not on the console after logging in: ' + page.url());
}

// submit clicks the form's main button and waits for the next page.
async function submit(page, form = 'form.object') {
  await Promise.all([page.waitForLoadState('load'), page.waitForNavigation(), page.click(`${form} button[type=submit]`)]);
}

async function newObject(page, kind, fill, what) {
  await goto(page, `/console/k/${kind}/new`);
  await fill(page);
  await submit(page);
  await expectFlash(page, 'in your draft', what);
}

async function addRow(page, list) {
  await page.click(`button.add[data-add="${list}"]`);
}

async function reviewAndApply(page, what) {
  await goto(page, '/console/review');
  await shot(page, `review-${PHASE}-1280`);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/apply"] button')]);
  await expectFlash(page, 'is in use', what);
  const m = /version (\d+) is in use/.exec(await flash(page));
  console.log('applied-version: ' + (m ? m[1] : '?'));
}

async function dayOne(page) {
  await loginIfNeeded(page);
  await shot(page, 'console-1280');
  await newObject(page, 'extensions', async (p) => {
    await p.fill('#f-number', '201');
    await p.fill('#f-name', 'Ann Front Desk');
    await p.fill('#f-secret', 'ann-desk-secret-201');
    await p.check('#f-voicemail');
  }, 'extension 201 added to the draft');
  await newObject(page, 'extensions', async (p) => {
    await p.fill('#f-number', '202');
    await p.fill('#f-name', 'Ben Back Office');
    await p.fill('#f-secret', 'ben-office-secret-202');
  }, 'extension 202 added to the draft');
  await newObject(page, 'agents', async (p) => {
    await p.fill('#f-id', 'ann');
    await p.fill('#f-name', 'Ann');
    await p.selectOption('#f-extension', '201');
  }, 'agent ann added');
  // A ring group with two stages: rows added in the page.
  await newObject(page, 'ring_groups', async (p) => {
    await p.fill('#f-id', 'front');
    await p.fill('#f-name', 'Front desk');
    await p.selectOption('#f-stages-1-ring-1', 'ext:201');
    await p.fill('#f-stages-1-for', '10s');
    await addRow(p, 'stages');
    await p.selectOption('#f-stages-2-ring-1', 'ext:201');
    await addRow(p, 'stages.2.ring');
    await p.selectOption('#f-stages-2-ring-2', 'ext:202');
    await p.fill('#f-stages-2-for', '20s');
    await p.selectOption('#f-no_answer', 'voicemail:201');
  }, 'ring group front with two stages added');
  await goto(page, '/console/k/ring_groups/o/front');
  const timeline = await page.locator('.picture svg').count();
  if (!timeline) fail('the ring group page shows no timeline');
  const svgText = await page.locator('.picture svg').textContent();
  if (!svgText.includes('202') || !svgText.toLowerCase().includes('voicemail')) fail('the timeline does not show 202 and the voicemail: ' + svgText);
  ok('the ring group timeline shows its stages and where the call goes');
  await shot(page, 'ring-group-1280');
  await newObject(page, 'queues', async (p) => {
    await p.fill('#f-id', 'sales');
    await p.fill('#f-name', 'Sales');
    await p.selectOption('#f-agents-1-agent', 'ann');
  }, 'queue sales with agent ann added');
  await newObject(page, 'schedules', async (p) => {
    await p.fill('#f-id', 'office');
    await p.fill('#f-name', 'Office hours');
    await p.fill('#f-open-1-days', 'mon-fri');
    await p.fill('#f-open-1-from', '09:00');
    await p.fill('#f-open-1-to', '17:00');
    await p.fill('#f-holidays-1', '2026-12-25');
  }, 'business hours with a holiday added');
  await goto(page, '/console/k/schedules/o/office?week=2026-12-21');
  const week = await page.locator('.picture svg').textContent();
  if (!week.toLowerCase().includes('holiday')) fail('the week grid does not show the holiday: ' + week);
  ok('the week grid shows the holiday');
  await shot(page, 'schedule-1280');

  // The greeting: an MP3 uploaded with a progress bar.
  await goto(page, '/console/audio');
  await page.fill('#prompt-id', 'greeting');
  await page.setInputFiles('#prompt-file', process.env.GREETING_MP3);
  const reloaded = page.waitForNavigation({ timeout: 30000 }).catch(() => null);
  await page.click('#upload-prompt button');
  await page.waitForFunction(() => /Stored|HTTP|failed|not|too/.test(document.querySelector('#upload-prompt .upload-msg').textContent) &&
    !/Uploading|Checking/.test(document.querySelector('#upload-prompt .upload-msg').textContent), null, { timeout: 30000 })
    .catch(async () => fail('the greeting upload did not finish: ' + await page.textContent('#upload-prompt .upload-msg') + ' ' + page.problems.join('; ')));
  const said = await page.textContent('#upload-prompt .upload-msg');
  if (!said.startsWith('Stored')) fail('the greeting upload failed: ' + said);
  await reloaded;
  await goto(page, '/console/audio');
  const row = page.locator('#prompts tr', { hasText: 'greeting' });
  if (!(await row.count())) fail('the uploaded greeting is not listed: ' + await page.textContent('main'));
  const rowText = await row.first().textContent();
  if (!/\d\.\d s/.test(rowText) || !rowText.includes('dBFS')) fail('the greeting row lacks its length or level: ' + rowText);
  const audioOK = await page.evaluate(async () => {
    const r = await fetch('/api/v1/prompts/greeting/audio');
    return r.status === 200 && r.headers.get('content-type').startsWith('audio/wav');
  });
  if (!audioOK) fail('the greeting does not play');
  ok('the MP3 greeting was uploaded, shows its length and level, and plays');
  await shot(page, 'audio-1280');

  await newObject(page, 'ivrs', async (p) => {
    await p.fill('#f-id', 'main');
    await p.fill('#f-name', 'Main menu');
    await p.selectOption('#f-greeting', 'greeting');
    await p.selectOption('#f-options-k-1', '1');
    await p.selectOption('#f-options-v-1', 'queue:sales');
    await addRow(p, 'options');
    await p.selectOption('#f-options-k-2', '2');
    await p.selectOption('#f-options-v-2', 'ringgroup:front');
  }, 'IVR main added');
  await goto(page, '/console/k/ivrs/o/main');
  const tree = await page.locator('.picture svg').textContent();
  if (!tree.includes('Sales') || !tree.includes('Front desk')) fail('the IVR tree does not show its destinations: ' + tree);
  ok('the IVR tree shows where each key goes');
  await shot(page, 'ivr-1280');
  await newObject(page, 'trunks', async (p) => {
    await p.fill('#f-id', 'carrier');
    await p.fill('#f-host', process.env.CARRIER);
  }, 'trunk added');
  await newObject(page, 'inbound', async (p) => {
    await p.fill('#f-match', process.env.DID);
    await p.selectOption('#f-to', 'ivr:main');
  }, 'the DID routed to the IVR');
  await reviewAndApply(page, 'day one reviewed and applied');
}

async function change(page) {
  await loginIfNeeded(page);
  await goto(page, '/console/k/inbound/o/0');
  await page.selectOption('#f-to', 'voicemail:201');
  await submit(page);
  await expectFlash(page, 'in your draft', 'the DID now goes to voicemail in the draft');
  await reviewAndApply(page, 'the change applied');
}

async function restore(page) {
  await loginIfNeeded(page);
  await goto(page, '/console/history');
  await shot(page, 'history-1280');
  await Promise.all([page.waitForNavigation(), page.click(`form[action="/console/history/${process.env.VERSION}/restore"] button`)]);
  const text = await page.locator('main').textContent();
  if (!text.includes('ivr:main')) fail('the restore review does not show the route going back to the IVR');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/apply"] button')]);
  await expectFlash(page, 'is in use', 'version ' + process.env.VERSION + ' restored');
}

async function checks(page, profileDir) {
  await loginIfNeeded(page);
  // Three mistakes, three messages, each at its field; what was typed stays.
  await goto(page, '/console/k/extensions/new');
  await page.fill('#f-number', '20x');
  await page.fill('#f-secret', 'short');
  await page.fill('#f-email', 'ann at example');
  await submit(page);
  for (const [id, words] of [['f-number', 'digits only'], ['f-secret', 'at least 8'], ['f-email', 'not an e-mail']]) {
    const msg = await page.locator(`#${id}-err`).textContent().catch(() => '');
    if (!msg.includes(words)) fail(`field ${id} shows "${msg}", want "${words}"`);
    if ((await page.getAttribute('#' + id, 'aria-invalid')) !== 'true') fail(`field ${id} is not marked invalid`);
  }
  if ((await page.inputValue('#f-email')) !== 'ann at example' || (await page.inputValue('#f-number')) !== '20x') fail('the form lost what was typed');
  ok('a form with three mistakes shows three messages at the right fields');
  await shot(page, 'mistakes-1280');

  // A manager and an agent: users made in the console.
  for (const [login, role] of [['mona', 'manager'], ['al', 'agent']]) {
    await newObject(page, 'users', async (p) => {
      await p.fill('#f-login', login);
      await p.selectOption('#f-role', role);
      if (role === 'agent') await p.selectOption('#f-agent', 'ann');
      await p.fill('#f-password', login + '-Password-2026x');
    }, `web user ${login} (${role}) added`);
  }
  await reviewAndApply(page, 'the web users applied');
  for (const login of ['mona', 'al']) {
    const other = await open(profileDir + '-' + login);
    await goto(other, '/login');
    await other.fill('#login', login);
    await other.fill('#password', login + '-Password-2026x');
    await Promise.all([other.waitForURL(BASE + '/'), other.click('button[type=submit]')]);
    for (const path of ['/console', '/console/k/extensions', '/console/sitefile/download?secrets=1', '/console/backup']) {
      const r = await goto(other, path);
      if (r.status() !== 403) fail(`${login} opened ${path}: HTTP ${r.status()}`);
    }
    const posted = await other.evaluate(async () => {
      const out = [];
      for (const path of ['/console/apply', '/console/k/extensions/new', '/console/tokens']) {
        const r = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'name=x&number=999' });
        out.push(r.status);
      }
      return out;
    });
    if (posted.some((s) => s !== 403)) fail(`${login}'s posts to admin pages answered ${posted}`);
    const nav = await other.locator('header nav').textContent();
    if (nav.includes('Configure')) fail(`${login} is offered the Configure section`);
    ok(`${login} cannot open or post to admin pages (403)`);
  }

  // Two installers at once: the second apply over a changed base is refused.
  const second = await open(profileDir + '-second');
  await newObject(page, 'users', async (p) => {
    await p.fill('#f-login', 'second');
    await p.selectOption('#f-role', 'admin');
    await p.fill('#f-password', 'Second-Installer-2026');
  }, 'a second installer added');
  await reviewAndApply(page, 'the second installer applied');
  await goto(second, '/login');
  await second.fill('#login', 'second');
  await second.fill('#password', 'Second-Installer-2026');
  await Promise.all([second.waitForURL(BASE + '/'), second.click('button[type=submit]')]);
  await goto(page, '/console/k/extensions/o/202');
  await page.fill('#f-name', 'Ben (first installer)');
  await submit(page);
  await goto(second, '/console/k/extensions/o/201');
  await second.fill('#f-name', 'Ann (second installer)');
  await submit(second, 'form.object');
  await goto(second, '/console/review');
  await goto(page, '/console/review');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/console/apply"] button')]);
  await expectFlash(page, 'is in use', 'the first installer applied');
  await Promise.all([second.waitForNavigation(), second.click('form[action="/console/apply"] button')]);
  const refused = await flash(second);
  if (!refused.includes('Not applied') && !refused.includes('changed since this page was shown')) fail('the second apply was not refused: ' + refused);
  await shot(second, 'apply-refused-1280');
  ok('the second apply over a changed base was refused: ' + refused);
  await goto(second, '/console/review');
  await Promise.all([second.waitForNavigation(), second.click('form[action="/console/apply"] button')]);
  await expectFlash(second, 'is in use', 'the second installer applied after reviewing the merged draft');

  // Screenshots of every page at 1280 and 375 px.
  const pages = ['/console', '/console/k/extensions', '/console/k/extensions/o/201', '/console/k/agents', '/console/k/ring_groups/o/front',
    '/console/k/queues/o/sales', '/console/k/ivrs/o/main', '/console/k/schedules/o/office', '/console/k/inbound', '/console/k/trunks',
    '/console/k/users', '/console/system', '/console/audio', '/console/phones', '/console/phones/201', '/console/review', '/console/history',
    '/console/sitefile', '/console/backup', '/console/tokens', '/'];
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 900 });
    for (const path of pages) {
      const r = await goto(page, path);
      if (r.status() !== 200) fail(`${path}: HTTP ${r.status()}`);
      const size = (await r.body()).length;
      if (size > 100 * 1024) fail(`${path} is ${size} bytes, over 100 KB`);
      if (width === 375) {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (overflow > 2) {
          const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 2 && !e.closest('.scroll'))
            .slice(0, 6).map((e) => e.tagName + '.' + e.className + '#' + e.id + '@' + Math.round(e.getBoundingClientRect().right)).join(', '));
          fail(`${path} is ${overflow} px wider than a 375 px screen: ${wide}`);
        }
      }
      await shot(page, `${path === '/' ? 'dashboard' : path.slice(1).replace(/\//g, '_')}-${width}`);
    }
  }
  ok('every page renders at 1280 and 375 px, under 100 KB, without sideways scrolling');
  for (const p of [page, second]) if (p.problems.length) fail('browser errors: ' + p.problems.join('; '));
}

// backup downloads a backup in the browser, changes a name and applies it,
// then restores the backup through the page: the box restarts and the name
// is back.
async function backupRestore(page) {
  await loginIfNeeded(page);
  await goto(page, '/console/k/extensions/o/202');
  const before = await page.inputValue('#f-name');
  await goto(page, '/console/backup');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#backup-form button')]);
  if (!/^ringbox-backup-.+\.tar\.gz$/.test(dl.suggestedFilename())) fail('backup file name: ' + dl.suggestedFilename());
  const archive = PROFILE + '-backup.tar.gz';
  await dl.saveAs(archive);
  ok('a backup was downloaded: ' + dl.suggestedFilename());

  await goto(page, '/console/k/extensions/o/202');
  await page.fill('#f-name', 'Changed after the backup');
  await submit(page);
  await reviewAndApply(page, 'a change after the backup applied');

  await goto(page, '/console/backup');
  await shot(page, 'backup-1280');
  await page.setInputFiles('#restore-file', archive);
  await page.click('#restore-form button');
  await page.waitForSelector('#restore-plan:not([hidden])', { timeout: 30000 }).catch(async () =>
    fail('the restore plan was not shown: ' + await page.textContent('#restore-form .upload-msg')));
  const plan = await page.textContent('#restore-plan');
  if (!plan.includes('Extensions') || !plan.includes('Call records')) fail('the restore plan does not say what it replaces: ' + plan);
  await shot(page, 'restore-plan-1280');
  ok('the archive was checked and the page shows what it replaces');
  await Promise.all([page.waitForURL(/\/(login)?$/, { timeout: 90000 }), page.click('#restore-go')]);
  ok('the box restarted with the backup and the page came back');
  await loginIfNeeded(page);
  await goto(page, '/console/k/extensions/o/202');
  const after = await page.inputValue('#f-name');
  if (after !== before) fail(`after the restore extension 202 is named "${after}", want "${before}"`);
  ok('the restored box has the configuration of the backup');
}

async function main() {
  if (!BASE || !PROFILE) fail('BASE_URL and PROFILE are required');
  const page = await open(PROFILE);
  switch (PHASE) {
    case 'dayone': await dayOne(page); break;
    case 'change': await change(page); break;
    case 'restore': await restore(page); break;
    case 'checks': await checks(page, PROFILE); break;
    case 'backup': await backupRestore(page); break;
    default: fail('unknown PHASE ' + PHASE);
  }
  if (page.problems.length) fail('browser errors: ' + page.problems.join('; '));
}

try {
  await main();
  console.log('PASS ' + PHASE);
} catch (e) {
  console.error('FAIL ' + PHASE + ': ' + (e instanceof Failure ? e.message : e.stack));
  process.exitCode = 1;
} finally {
  for (const c of contexts) await c.close().catch(() => {});
}
