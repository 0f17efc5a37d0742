// Browser test of the agent page's browser phone against the real box:
// Chromium with a fake microphone (a WAV file of a tone) takes a carrier
// call in the page (firmware/cmd/ringbox/browserphone_e2e_test.go).
//
//   BASE_URL=... AGENT_LOGIN=ann AGENT_PASSWORD=... MIC_WAV=tone.wav node browserphone.mjs
//
// Environment:
//   BASE_URL        the box; AGENT_LOGIN is bound to an agent whose ring
//                   preference is browser, in a queue that takes the call
//   AGENT_LOGIN     the agent's web login, AGENT_PASSWORD its password
//   MIC_WAV         what Chromium's fake microphone plays
//   MODE            "accept" (default): take the call, talk, hang up;
//                   "decline": decline it
//   HOLD_MS         how long the call lasts in the page (default 3000)
//   TRANSFER_TO     after HOLD_MS, transfer the caller there with the
//                   page's Transfer form instead of hanging up
//   MAX_BANNER_MS   the banner must show this soon after the INVITE
//                   (default 1000; more for a page rung after another)
//   CHROMIUM        browser binary (default /usr/bin/chromium)
//
// Protocol with the test, one line each: the script prints "ready" once
// the agent is logged in to their queues with the phone attached; the test
// answers "call <epoch ms>" when the carrier's INVITE leaves. The script
// prints "result <json>" with what it measured, then exits 0; any failed
// check exits 1.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const LOGIN = process.env.AGENT_LOGIN || 'ann';
const PASSWORD = process.env.AGENT_PASSWORD || '';
const MIC = process.env.MIC_WAV || '';
const MODE = process.env.MODE || 'accept';
const HOLD_MS = Number(process.env.HOLD_MS || 3000);
const TRANSFER_TO = process.env.TRANSFER_TO || '';
const MAX_BANNER_MS = Number(process.env.MAX_BANNER_MS || 1000);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 10000;

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const ok = (msg) => console.log('ok: ' + msg);

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function readLine(prefix) {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) fail(`stdin closed while waiting for "${prefix}"`);
    if (value.startsWith(prefix)) return value.slice(prefix.length).trim();
  }
}

// Recorded before the page's script runs: every RTCPeerConnection the
// page makes, every notification it shows, when it sends accept.
function instrument() {
  window.__pcs = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) {
    if (typeof d === 'string' && d.includes('"accept"')) window.__acceptSent = Date.now();
    return send.call(this, d);
  };
  window.__notes = [];
  const PC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends PC {
    constructor(...a) { super(...a); window.__pcs.push(this); }
  };
  if (window.Notification) {
    const N = window.Notification;
    window.Notification = class extends N {
      constructor(title, o) { super(title, o); window.__notes.push({ title, at: Date.now() }); }
    };
  }
  if (window.ServiceWorkerRegistration) {
    const show = ServiceWorkerRegistration.prototype.showNotification;
    ServiceWorkerRegistration.prototype.showNotification = function (title, o) {
      window.__notes.push({ title, at: Date.now() });
      return show.call(this, title, o);
    };
  }
}

// audioStats sums the page's audio RTP figures.
async function audioStats(page) {
  return page.evaluate(async () => {
    const pc = window.__pcs[window.__pcs.length - 1];
    const r = { state: pc ? pc.connectionState : 'none', packetsReceived: 0, audioLevel: 0, totalAudioEnergy: 0, packetsSent: 0, bytesSent: 0, codec: '' };
    if (!pc) return r;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        r.packetsReceived += s.packetsReceived || 0;
        r.audioLevel = Math.max(r.audioLevel, s.audioLevel || 0);
        r.totalAudioEnergy += s.totalAudioEnergy || 0;
        if (s.codecId && stats.get(s.codecId)) r.codec = stats.get(s.codecId).mimeType;
      }
      if (s.type === 'outbound-rtp' && s.kind === 'audio') {
        r.packetsSent += s.packetsSent || 0;
        r.bytesSent += s.bytesSent || 0;
      }
    });
    return r;
  });
}

async function main() {
  if (!BASE || !PASSWORD || !MIC) fail('BASE_URL, AGENT_PASSWORD and MIC_WAV are required');
  if (!existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}`);
  const dir = mkdtempSync(join(tmpdir(), 'ringbox-phone-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--use-file-for-fake-audio-capture=' + MIC,
      '--autoplay-policy=no-user-gesture-required'],
  });
  ctx.setDefaultTimeout(TIMEOUT);
  await ctx.grantPermissions(['notifications', 'microphone'], { origin: BASE });
  await ctx.addInitScript(instrument);
  const page = ctx.pages()[0] || (await ctx.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push('uncaught: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    if (m.type() === 'warning' && m.text().startsWith('ringbox phone')) problems.push(m.text());
  });
  const result = { mode: MODE };
  try {
    await page.goto(BASE + '/agent');
    await page.fill('#login', LOGIN);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL((u) => u.pathname === '/agent');
    await page.waitForSelector('#stream-state[data-state="live"]');
    await page.waitForFunction(() => /^on/.test(document.querySelector('#st-phone').textContent));
    await page.click('#st-login');
    await page.waitForFunction(() => /^Available/.test(document.querySelector('#st-status').textContent));
    ok(`${LOGIN} logged in to their queues; browser phone: "${await page.textContent('#st-phone')}"`);

    console.log('ready');
    const invited = Number(await readLine('call '));
    await page.waitForSelector('#offer:not([hidden])');
    result.banner_at = Date.now();
    result.banner_ms = result.banner_at - invited;
    const who = (await page.textContent('#offer-name')) + ' ' + (await page.textContent('#offer-number'));
    ok(`banner "${who}" via ${await page.textContent('#offer-via')} ${result.banner_ms} ms after the INVITE`);
    if (result.banner_ms > MAX_BANNER_MS) fail(`the banner took ${result.banner_ms} ms, want under ${MAX_BANNER_MS} ms`);
    await page.waitForFunction(() => window.__notes.length > 0, null, { timeout: 2000 }).catch(() => fail('no notification shown for the call'));
    ok(`notification "${await page.evaluate(() => window.__notes[0].title)}"`);

    if (MODE === 'decline') {
      result.declined_at = Date.now();
      await page.click('#offer-decline');
      const t0 = result.declined_at;
      await page.waitForSelector('#offer', { state: 'hidden' });
      result.decline_ms = Date.now() - t0;
      ok(`declined: the banner went away in ${result.decline_ms} ms ("${await page.textContent('#offer-msg')}")`);
      await page.waitForFunction(() => document.querySelector('#today-declined').textContent === '1');
      ok('today counts the decline');
    } else {
      await page.waitForSelector('#offer-accept:not([hidden])');
      await page.click('#offer-accept');
      const t0 = Date.now();
      let s;
      for (;;) {
        s = await audioStats(page);
        if (s.packetsReceived > 0 && s.audioLevel > 0) break;
        if (Date.now() - t0 > TIMEOUT) fail(`no audio from the caller ${TIMEOUT} ms after Accept: ${JSON.stringify(s)}; page says "${await page.textContent('#offer-msg')}"`);
        await page.waitForTimeout(20);
      }
      result.accept_to_audio_ms = Date.now() - t0;
      result.accept_to_offer_ms = (await page.evaluate(() => window.__acceptSent)) - t0;
      ok(`caller's audio in the page ${result.accept_to_audio_ms} ms after Accept (${s.codec}); the offer left after ${result.accept_to_offer_ms} ms`);
      if (await page.isHidden('#phone')) fail('the call controls are not shown');
      await page.waitForTimeout(HOLD_MS);
      s = await audioStats(page);
      Object.assign(result, { state: s.state, codec: s.codec, packets_received: s.packetsReceived, audio_level: s.audioLevel, packets_sent: s.packetsSent });
      ok(`after ${HOLD_MS} ms: ${JSON.stringify(s)}`);
      if (s.state !== 'connected') fail(`connection ${s.state}, want connected`);
      if (!(s.packetsReceived > 0 && s.audioLevel > 0)) fail(`inbound audio: ${s.packetsReceived} packets, level ${s.audioLevel}`);
      if (!(s.packetsSent > 0)) fail('nothing sent from the microphone');
      const level = await page.evaluate(() => document.querySelector('#mic-level').value);
      ok(`microphone meter at ${level.toFixed(2)}`);
      if (TRANSFER_TO) {
        result.transfer_at = Date.now();
        await page.fill('#phone-xfer-to', TRANSFER_TO);
        await page.click('#phone-xfer button[type=submit]');
        await page.waitForSelector('#phone', { state: 'hidden', timeout: 30000 });
        const msg = await page.textContent('#offer-msg');
        ok(`transferred to ${TRANSFER_TO}: "${msg}" after ${Date.now() - result.transfer_at} ms`);
        if (msg !== 'Call transferred.') fail(`after the transfer the page says "${msg}", want "Call transferred."`);
      } else {
        result.hangup_at = Date.now();
        await page.click('#phone-hangup');
        await page.waitForSelector('#phone', { state: 'hidden' });
        ok(`hung up: "${await page.textContent('#offer-msg')}"`);
      }
    }
    if (problems.length) fail('page problems:\n  ' + problems.join('\n  '));
    console.log('result ' + JSON.stringify(result));
  } finally {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e instanceof Failure ? 'FAIL: ' + e.message : e);
  process.exit(1);
});
