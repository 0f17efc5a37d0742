// The board page (/board): the box's front panel (buttons, their LEDs, the
// queue LEDs, the service button) and a card per analog line. Plain
// JavaScript, no build step, no inline script (the CSP forbids it).
//
// It polls GET /api/v1/board every 500 ms while the page is visible and
// updates only what changed, so the LEDs' CSS animations are not restarted
// by each poll. On a simulated board the cards carry the controls of the
// phone or exchange on each line; on a real board there are none.
'use strict';

(function () {
  const XRW = { 'X-Requested-With': 'ringbox' };
  const POLL_MS = 500;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const main = $('#main');
  const isSim = main.dataset.sim === '1';

  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  function setText(e, s) { if (e && e.textContent !== s) e.textContent = s; }
  function setAttr(e, k, v) { if (e && e.getAttribute(k) !== v) e.setAttribute(k, v); }

  async function api(method, path, body) {
    const opts = { method, headers: Object.assign({ Accept: 'application/json' }, XRW), cache: 'no-store' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(path, opts);
    let data = null;
    if ((res.headers.get('Content-Type') || '').startsWith('application/json')) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    return { status: res.status, ok: res.ok, data };
  }

  function errorText(r) {
    return (r.data && r.data.error) || ('The box answered HTTP ' + r.status + '.');
  }

  // act runs a control and shows its error, if any, in msg.
  async function act(msg, method, path, body) {
    try {
      const r = await api(method, path, body);
      setText(msg, r.ok ? '' : errorText(r));
      if (r.ok) poll();
    } catch (e) {
      setText(msg, 'The box did not answer: ' + e.message);
    }
  }

  $('#logout').addEventListener('click', async () => {
    try { await api('DELETE', '/api/v1/session'); } finally { location.assign('/login'); }
  });

  // ---- front panel ----

  const LED_WORDS = { off: 'off', on: 'on', slow_blink: 'slow blink', fast_blink: 'fast blink', double_blink: 'double blink' };
  const buttons = new Map(); // n -> {li, led}
  const queueLEDs = new Map();

  function ledEl() { return el('span', null, { class: 'led', role: 'img' }); }

  function setLED(led, pattern) {
    setAttr(led, 'data-led', pattern);
    setAttr(led, 'aria-label', 'LED ' + (LED_WORDS[pattern] || pattern));
  }

  function drawButtons(list) {
    const ul = $('#buttons');
    for (const b of list) {
      let x = buttons.get(b.n);
      if (!x) {
        const li = el('li');
        const btn = el('button', String(b.n), { type: 'button', class: 'secondary', title: b.label, 'data-button': String(b.n) });
        btn.disabled = !isSim;
        btn.addEventListener('click', () => {
          const long = $('#long') && $('#long').checked;
          act($('#board-error'), 'POST', '/api/v1/board/buttons/' + b.n + '/press' + (long ? '?long=1' : ''));
        });
        const led = ledEl();
        li.append(btn, led, el('span', b.label, { class: 'muted' }));
        ul.append(li);
        x = { li, led };
        buttons.set(b.n, x);
      }
      setLED(x.led, b.led);
    }
  }

  function drawQueueLEDs(list) {
    const ul = $('#queue-leds');
    for (const q of list) {
      let led = queueLEDs.get(q.n);
      if (!led) {
        const li = el('li');
        led = ledEl();
        li.append(led, el('span', 'Queue ' + q.n));
        ul.append(li);
        queueLEDs.set(q.n, led);
      }
      setLED(led, q.led);
    }
  }

  if (isSim) {
    $('#service').addEventListener('click', () => { $('#service-confirm').hidden = false; $('#service-yes').focus(); });
    $('#service-no').addEventListener('click', () => { $('#service-confirm').hidden = true; });
    $('#service-yes').addEventListener('click', () => {
      $('#service-confirm').hidden = true;
      act($('#board-error'), 'POST', '/api/v1/board/service/press');
    });
  }

  // ---- lines ----

  const HEARD = {
    silence: 'silence', dial_tone: 'dial tone', busy_tone: 'busy tone', congestion_tone: 'congestion tone',
    ringback: 'ringback', dtmf: 'DTMF', voice: 'voice',
  };
  const STATES = {
    idle: 'idle', dial_tone: 'dial tone', dialing: 'dialling', ringing: 'ringing', calling: 'calling',
    talking: 'talking', busy: 'busy tone', held: 'call held',
  };

  function hearsText(h) {
    if (!h) return '';
    let what = HEARD[h.heard];
    if (!what) what = h.tones.length ? h.tones.map((t) => t.hz + ' Hz').join(' + ') + ' tone' : h.heard;
    if (h.heard === 'silence') return what;
    return what + ' (' + h.level_dbm0.toFixed(1) + ' dBm0)';
  }

  function engineText(e) {
    if (!e) return 'no line engine';
    let s = STATES[e.state] || e.state;
    if (e.digits) s += ', digits ' + e.digits;
    if (e.remote) s += ', with ' + e.remote;
    return s;
  }

  const cards = new Map(); // port -> card element

  function path(port, what) { return '/api/v1/board/lines/' + encodeURIComponent(port) + '/' + what; }

  function newCard(l) {
    const tpl = $(l.kind === 'fxo' ? '#fxo-card' : '#fxs-card');
    const card = tpl.content.firstElementChild.cloneNode(true);
    card.dataset.port = l.port;
    card.setAttribute('aria-label', 'Line ' + l.port);
    setText($('.port', card), l.port);
    const msg = $('.msg', card);
    const on = (sel, ev, f) => { const e = $(sel, card); if (e) e.addEventListener(ev, f); };
    on('.lift', 'click', () => act(msg, 'POST', path(l.port, 'hook'), { off: true }));
    on('.hang', 'click', () => act(msg, 'POST', path(l.port, 'hook'), { off: false }));
    on('.hookflash', 'click', () => act(msg, 'POST', path(l.port, 'flash')));
    card.querySelectorAll('.key').forEach((k) => k.addEventListener('click', () => {
      const pulse = $('.pulse', card).checked;
      act(msg, 'POST', path(l.port, 'dial'), { digits: k.dataset.key, mode: pulse ? 'pulse' : 'dtmf' });
    }));
    on('.mic', 'change', (e) => act(msg, 'POST', path(l.port, 'tone'), { hz: Number(e.target.value), dbm0: -15 }));
    on('form.call', 'submit', (e) => {
      e.preventDefault();
      const f = e.target;
      act(msg, 'POST', path(l.port, 'ring'), { number: f.number.value.trim(), name: f.name.value.trim() });
    });
    on('.hangup', 'click', () => act(msg, 'POST', path(l.port, 'hangup'), { how: $('.how', card).value }));
    on('.battery', 'change', (e) => act(msg, 'POST', path(l.port, 'battery'), { on: e.target.checked }));
    on('.parallel', 'change', (e) => act(msg, 'POST', path(l.port, 'parallel'), { off_hook: e.target.checked }));
    $('#lines').append(card);
    return card;
  }

  function healthText(e) {
    if (!e) return '';
    return e.health === 'ok' ? '' : ' · ' + e.health.replace('_', ' ') + (e.detail ? ': ' + e.detail : '');
  }

  function drawLine(l) {
    let card = cards.get(l.port);
    if (!card) { card = newCard(l); cards.set(l.port, card); }
    const e = l.engine;
    setText($('.who', card), e ? (e.extension ? 'ext. ' + e.extension : e.trunk ? 'trunk ' + e.trunk : '') : '');
    const eng = $('.engine', card);
    setText(eng, engineText(e) + healthText(e));
    eng.className = 'engine ' + (!e || e.health === 'ok' ? 'health-ok' : 'health-bad');
    if (l.phone) {
      const p = l.phone;
      setText($('.hook', card), (p.off_hook ? 'off hook' : 'on hook') + (p.dialing ? ', dialling ' + p.dialing : '') +
        ' · feed ' + p.feed.replace(/_/g, ' ') + (p.polarity_reversals ? ' · ' + p.polarity_reversals + ' reversals' : ''));
      $('.ring-ind', card).hidden = !p.ringing;
      setText($('.hears', card), hearsText(p.hears));
      const cid = p.hears && p.hears.caller_id;
      setText($('.cid', card), cid ? [cid.number, cid.name].filter(Boolean).join(' · ') : 'none');
    } else if (l.exchange) {
      const x = l.exchange;
      let s = x.ringing ? 'calling the box' : x.off_hook ? (x.answered ? 'the box answered' : 'the box holds the line') : 'idle';
      if (x.far_end_hung_up) s += ' · far end hung up (' + x.far_end_hung_up + ')';
      if (x.gave_up && !x.ringing && !x.off_hook) s += ' · the last caller gave up';
      setText($('.xstate', card), s);
      $('.ring-ind', card).hidden = !x.ring_on;
      setText($('.volts', card), (x.battery ? x.voltage.toFixed(0) + ' V' : 'no battery') +
        (x.off_hook ? ', ' + x.loop_current_ma.toFixed(0) + ' mA' : '') + (x.parallel_off_hook ? ' · parallel phone off hook' : ''));
      setText($('.dialed', card), x.dialed || '–');
      setText($('.hears', card), hearsText(x.hears));
      const bat = $('.battery', card);
      if (bat && document.activeElement !== bat) bat.checked = x.battery;
      const par = $('.parallel', card);
      if (par && document.activeElement !== par) par.checked = x.parallel_off_hook;
    } else {
      // A real line, or one the engine knows and this board lacks: only
      // the engine's view, and no controls.
      const hook = $('.hook', card) || $('.xstate', card);
      setText(hook, isSim ? 'not on this board' : 'real line');
      for (const sel of ['.hears', '.dialed', '.volts', '.cid']) { const x = $(sel, card); if (x) setText(x, '–'); }
      for (const sel of ['.controls', '.keypad', 'form.call', '.msg']) { const x = $(sel, card); if (x) x.remove(); }
    }
  }

  function drawLines(list) {
    const seen = new Set();
    for (const l of list || []) { drawLine(l); seen.add(l.port); }
    for (const [port, card] of cards) if (!seen.has(port)) { card.remove(); cards.delete(port); }
    $('#lines-empty').hidden = cards.size > 0;
  }

  // ---- polling ----

  let timer = 0;
  let inFlight = false;

  async function poll() {
    if (inFlight) return;
    inFlight = true;
    const state = $('#poll-state');
    try {
      const r = await api('GET', '/api/v1/board');
      if (!r.ok) throw new Error(errorText(r));
      const b = r.data;
      setText($('#board-name'), b.sim ? 'simulated board' + (b.zone ? ' · ' + b.zone : '') : b.board);
      drawButtons(b.buttons || []);
      drawQueueLEDs(b.queue_leds || []);
      drawLines(b.lines);
      setAttr(state, 'data-state', 'live');
      setText(state, 'live');
    } catch (e) {
      setAttr(state, 'data-state', 'error');
      setText(state, 'no answer: ' + e.message);
    } finally {
      inFlight = false;
    }
  }

  function schedule() {
    clearInterval(timer);
    timer = 0;
    if (document.visibilityState === 'visible') {
      poll();
      timer = setInterval(poll, POLL_MS);
    }
  }
  document.addEventListener('visibilitychange', schedule);
  schedule();
})();
