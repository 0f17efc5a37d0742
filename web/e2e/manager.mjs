// A manager in Chromium against the real `ringbox serve`
// (firmware/cmd/ringbox/manager_e2e_test.go): her reports show her team and
// nobody else's, another team's agent is refused (403) in the page and the
// API, and the queue's wallboard changes when a caller joins.
//
// Environment: BASE_URL, LOGIN, PASSWORD, QUEUE, MINE and MINE_NAME (an
// agent of hers), OTHER and OTHER_NAME (another team's agent), WAIT_FILE (the test creates it once the
// wallboard is open, then places the call), SHOTS.

import { chromium } from 'playwright-core';
import { mkdtempSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = process.env.BASE_URL.replace(/\/+$/, '');
const env = (k) => process.env[k] || '';
const fail = (m) => { throw new Error(m); };
const ok = (m) => console.log('ok: ' + m);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rbx-mgr-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'], viewport: { width: 1280, height: 800 },
});
ctx.setDefaultTimeout(15000);
const page = ctx.pages()[0] || (await ctx.newPage());
const problems = [];
page.on('pageerror', (e) => problems.push(e.message));
try {
  await page.goto(BASE + '/login');
  await page.fill('#login', env('LOGIN'));
  await page.fill('#password', env('PASSWORD'));
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login')).catch(async () =>
    fail('login failed: ' + await page.textContent('#form-error')));

  await page.goto(BASE + '/reports');
  const agents = await page.textContent('#agent-table');
  const clean = agents.replace(/\s+/g, ' ');
  if (!clean.includes(env('MINE_NAME'))) fail(`her report does not list ${env('MINE_NAME')}: ${clean}`);
  if (clean.includes(env('OTHER_NAME'))) fail(`her report lists ${env('OTHER_NAME')}, of another team: ${clean}`);
  ok(`the report lists ${env('MINE_NAME')} and not ${env('OTHER_NAME')}`);
  if (env('SHOTS')) { mkdirSync(env('SHOTS'), { recursive: true }); await page.screenshot({ path: join(env('SHOTS'), 'reports-1280.png'), fullPage: true }); }

  const codes = await page.evaluate(async ([mine, other]) => {
    const st = async (p) => (await fetch(p, { cache: 'no-store' })).status;
    return [await st('/api/v1/agents/' + mine), await st('/api/v1/agents/' + other)];
  }, [env('MINE'), env('OTHER')]);
  if (codes[0] !== 200 || codes[1] !== 403) fail(`API from her page: her agent ${codes[0]}, the other team's ${codes[1]}; want 200 and 403`);
  ok('the API answers 403 for the other team\'s agent from her page');

  await page.goto(BASE + '/wallboard/' + env('QUEUE'));
  // The figures arrive from the API after the page loads.
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('#wb-waiting').textContent.trim()));
  const waitingBefore = (await page.textContent('#wb-waiting')).trim();
  if (waitingBefore !== '0') fail('wallboard waiting before the call: ' + waitingBefore);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(env('WAIT_FILE'), 'open');
  const t0 = Date.now();
  await page.waitForFunction(() => document.querySelector('#wb-waiting').textContent.trim() === '1', null, { timeout: 20000 })
    .catch(async () => fail('the wallboard did not show the waiting caller: ' + await page.textContent('#wb-waiting')));
  ok(`the wallboard shows the caller waiting (${Date.now() - t0} ms after the page was told the call was placed)`);
  if (env('SHOTS')) await page.screenshot({ path: join(env('SHOTS'), 'wallboard-1280.png') });
  if (problems.length) fail('page errors: ' + problems.join('; '));
  console.log('PASS');
} catch (e) {
  console.error('FAIL: ' + e.message);
  process.exitCode = 1;
} finally {
  await ctx.close();
}
