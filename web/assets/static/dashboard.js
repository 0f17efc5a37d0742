// The live dashboard (/live) and the queue wallboards (/wallboard/{queue}).
// Plain JavaScript, no build step, no inline script (the CSP forbids it).
//
// Both pages follow the same pattern: fetch small JSON, redraw only what
// changed, and fetch again when the event stream (GET /api/v1/events) says
// something relevant happened, at most once per REFRESH_MS per resource,
// plus a slow poll for what has no event (trunk states). Durations tick
// locally every second between fetches.
'use strict';

(function () {
  const XRW = { 'X-Requested-With': 'ringbox' };
  const REFRESH_MS = 1000; // at most one fetch per resource per second
  const POLL_MS = 30000;   // and one every 30 s regardless (trunks have no events)

  const $ = (sel, root) => (root || document).querySelector(sel);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  // The box's clock minus the browser's, from each answer's Date header, so
  // "for 2 min" is right even when the TV's clock is not.
  let skew = 0;

  async function api(method, path) {
    const res = await fetch(path, { method, headers: Object.assign({ Accept: 'application/json' }, XRW), cache: 'no-store' });
    if (res.status === 401) { location.assign('/login?next=' + encodeURIComponent(location.pathname)); throw new Error('logged out'); }
    const date = Date.parse(res.headers.get('Date') || '');
    if (!isNaN(date)) skew = date - Date.now();
    let data = null;
    if ((res.headers.get('Content-Type') || '').startsWith('application/json')) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    return { status: res.status, ok: res.ok, data };
  }

  const serverNow = () => Date.now() + skew;

  function fmtWait(sec) {
    sec = Math.max(0, Math.floor(sec));
    const h = Math.floor(sec / 3600), m = Math.floor(sec / 60) % 60, s = sec % 60;
    const two = (n) => String(n).padStart(2, '0');
    return h ? h + ':' + two(m) + ':' + two(s) : m + ':' + two(s);
  }

  // ---- the event stream ----

  // streamEvents reads /api/v1/events and calls onEvent with each event's
  // type, reconnecting after 3 s; onState gets 'live' or 'reconnecting'.
  // After a reconnect every resource is fetched again: events may have
  // been missed meanwhile.
  async function streamEvents(onEvent, onState, onReconnect) {
    let first = true;
    for (;;) {
      try {
        const res = await fetch('/api/v1/events', { headers: { Accept: 'text/event-stream' }, cache: 'no-store' });
        if (res.status === 401) { location.assign('/login?next=' + encodeURIComponent(location.pathname)); return; }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        onState('live', 'live');
        if (!first) onReconnect();
        first = false;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value.replace(/\r\n?/g, '\n');
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const m = /^event: (.*)$/m.exec(block);
            if (m) onEvent(m[1]);
          }
        }
      } catch (e) {
        // fall through to reconnect
      }
      onState('reconnecting', 'reconnecting…');
      await sleep(3000);
    }
  }

  function setStreamState(s, text) {
    const state = $('#stream-state');
    if (!state) return;
    state.dataset.state = s;
    state.textContent = text;
  }

  // throttled returns a function that runs load at once when idle, else
  // once when REFRESH_MS has passed since the last run; never two at a time.
  function throttled(load) {
    let last = 0, timer = null, running = false, again = false;
    const run = async () => {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      last = Date.now();
      try { await load(); } catch (e) { /* shown by load */ }
      running = false;
      if (again) { again = false; kick(); }
    };
    const kick = () => {
      if (timer) return;
      timer = setTimeout(run, Math.max(0, last + REFRESH_MS - Date.now()));
    };
    return kick;
  }

  const matches = (type, prefixes) => prefixes.some((p) => type === p || (p.endsWith('.') && type.startsWith(p)));

  // wire gives each resource a throttled kick and fetches it now, again on its events, on reconnect and
  // every POLL_MS while the page is visible.
  function wire(resources) {
    resources.forEach((r) => { r.kick = throttled(r.load); });
    const all = () => resources.forEach((r) => r.kick());
    all();
    streamEvents((type) => resources.forEach((r) => { if (matches(type, r.on)) r.kick(); }), setStreamState, all);
    setInterval(() => { if (!document.hidden) all(); }, POLL_MS);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) all(); });
  }

  // redraw replaces tbody's rows with rows (arrays of cells) only when they
  // changed, so an unchanged table never flickers and keeps its focus.
  function redraw(table, list, key, row) {
    const body = $('tbody', table);
    const sig = JSON.stringify(list);
    if (body.dataset.sig === sig) return false;
    body.dataset.sig = sig;
    const focused = document.activeElement && body.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    const rows = list.map((item) => {
      const tr = el('tr', null, { 'data-key': key(item) });
      tr.append(...row(item));
      return tr;
    });
    body.replaceChildren(...rows);
    if (focused) {
      const f = body.querySelector('[data-key="' + CSS.escape(focused) + '"] button');
      if (f) f.focus();
    }
    return true;
  }

  // tickCell shows how long ago since (an RFC 3339 time) was, every second.
  function tickCell(since) {
    const td = el('td', '', { class: 'tick num' });
    if (since) {
      td.dataset.since = String(Date.parse(since));
      td.textContent = fmtWait((serverNow() - Number(td.dataset.since)) / 1000);
    }
    return td;
  }

  function tickAll() {
    document.querySelectorAll('[data-since]').forEach((td) => {
      td.textContent = fmtWait((serverNow() - Number(td.dataset.since)) / 1000);
    });
  }

  function pill(v, text) {
    const td = el('td');
    td.append(el('span', text || v.replace('_', ' '), { class: 'pill', 'data-v': v }));
    return td;
  }

  // ---- /live ----

  const STATE_TEXT = { routing: 'routing', menu: 'in menu', announcement: 'announcement', ringing: 'ringing',
    queued: 'in queue', voicemail: 'voicemail', talking: 'talking' };
  const BUCKET_TEXT = { available: 'available', on_call: 'on call', wrapup: 'wrap-up', unavailable: 'unavailable', logged_out: 'logged out' };

  function party(number, name) {
    return name ? name + ' (' + number + ')' : (number || 'unknown');
  }

  function initLive() {
    const main = $('#main');
    const canHangup = main.dataset.canHangup === '1';
    const logout = $('#logout');
    if (logout) {
      logout.addEventListener('click', async () => {
        try { await fetch('/api/v1/session', { method: 'DELETE', headers: XRW }); } finally { location.assign('/login'); }
      });
    }

    async function hangup(c, btn) {
      if (!confirm('Hang up the call from ' + party(c.caller, c.caller_name) + ' to ' + c.callee + '?')) return;
      btn.disabled = true;
      $('#calls-error').textContent = '';
      try {
        const r = await api('POST', '/api/v1/calls/' + encodeURIComponent(c.id) + '/hangup');
        if (!r.ok) $('#calls-error').textContent = (r.data && r.data.error) || ('The box answered HTTP ' + r.status + '.');
      } catch (e) {
        $('#calls-error').textContent = 'The box cannot be reached.';
      }
      btn.disabled = false;
      calls.kick();
    }

    async function loadCalls() {
      const r = await api('GET', '/api/v1/calls/live');
      if (!r.ok) { $('#calls-error').textContent = (r.data && r.data.error) || 'Calls could not be loaded.'; return; }
      const list = r.data || [];
      // Sort-stable keys only: the ticking cells compute from the times.
      redraw($('#calls'), list, (c) => c.id, (c) => {
        const cells = [
          el('td', party(c.caller, c.caller_name)),
          el('td', c.callee + (c.trunk ? ' · ' + c.trunk : '')),
          pill(c.state, STATE_TEXT[c.state] || c.state),
          tickCell(c.state_since),
          el('td', c.answered_by || ''),
          el('td', (c.path || []).join(' → '), { class: 'path' }),
        ];
        if (canHangup) {
          const td = el('td');
          const b = el('button', 'Hang up', { type: 'button', class: 'small bad', 'data-key': c.id });
          b.addEventListener('click', () => hangup(c, b));
          td.append(b);
          cells.push(td);
        }
        return cells;
      });
      $('#calls-empty').hidden = list.length > 0;
      $('#calls-count').textContent = list.length ? '(' + list.length + ')' : '';
      $('#calls-error').textContent = '';
    }

    async function loadBoard() {
      const r = await api('GET', '/api/v1/dashboard');
      if (!r.ok) return;
      const qs = r.data.queues || [], as = r.data.agents || [];
      // The longest wait ticks: keep when it started, not its value.
      const now = serverNow();
      redraw($('#queues'), qs.map((q) => Object.assign({}, q, {
        longest_wait_seconds: undefined,
        oldest: q.waiting ? Math.round((now - q.longest_wait_seconds * 1000) / 1000) : 0,
      })), (q) => q.id, (q) => {
        const wait = el('td', '', { class: 'tick num' });
        if (q.oldest) {
          wait.dataset.since = String(q.oldest * 1000);
          wait.textContent = fmtWait((serverNow() - q.oldest * 1000) / 1000);
        }
        const link = el('td');
        link.append(el('a', 'Wallboard', { href: '/wallboard/' + encodeURIComponent(q.id) }));
        return [el('td', q.name), el('td', String(q.waiting), { class: 'num' + (q.waiting && !q.agents.available ? ' waiting-hot' : '') }), wait,
          el('td', String(q.agents.available), { class: 'num' }), el('td', String(q.agents.on_call), { class: 'num' }),
          el('td', String(q.agents.wrapup), { class: 'num' }), el('td', String(q.agents.unavailable), { class: 'num' }),
          el('td', String(q.agents.logged_out), { class: 'num' }), link];
      });
      $('#queues-empty').hidden = qs.length > 0;
      redraw($('#agents'), as, (a) => a.id, (a) => [
        el('td', a.name), el('td', a.extension || ''),
        pill(a.bucket, (BUCKET_TEXT[a.bucket] || a.bucket) + (a.reason ? ': ' + a.reason : '')),
        tickCell(a.since), el('td', (a.queues || []).join(', ')), el('td', String(a.answered), { class: 'num' }),
      ]);
      $('#agents-empty').hidden = as.length > 0;
    }

    async function loadTrunks() {
      const r = await api('GET', '/api/v1/trunks');
      if (!r.ok) return;
      const list = r.data || [];
      redraw($('#trunks'), list, (t) => t.id, (t) => [el('td', t.id), pill(t.state), el('td', t.last_error || '')]);
      $('#trunks-empty').hidden = list.length > 0;
    }

    async function loadRegs() {
      const r = await api('GET', '/api/v1/registrations');
      if (!r.ok) return;
      const list = r.data || [];
      redraw($('#regs'), list, (g) => g.extension + ' ' + g.contact, (g) => [
        el('td', g.extension), el('td', g.source + ' ' + g.transport), el('td', g.user_agent || ''),
        el('td', new Date(g.expires).toLocaleTimeString([], { timeZone: main.dataset.tz || undefined })),
      ]);
      $('#regs-empty').hidden = list.length > 0;
      $('#regs-count').textContent = list.length ? '(' + list.length + ')' : '';
    }

    const calls = { load: loadCalls, on: ['call.', 'queue.caller'] };
    wire([
      calls,
      { load: loadBoard, on: ['queue.', 'agent.', 'call.answered', 'call.ended', 'config.changed'] },
      { load: loadTrunks, on: ['config.changed'] },
      { load: loadRegs, on: ['sip.', 'config.changed'] },
    ]);
    setInterval(tickAll, 1000);
  }

  // ---- /wallboard/{queue} ----

  function initWallboard() {
    const main = $('#main');
    const q = main.dataset.queue;
    let oldest = 0; // server time (ms) the longest-waiting caller joined; 0: none
    // set changes a figure only when it differs (no repaint each second)
    // and shrinks a figure that would overflow its tile (a long wait).
    const set = (id, v) => {
      const e = $('#' + id);
      if (e.textContent === v) return;
      e.textContent = v;
      if (e.classList.contains('wb-num')) fit(e);
    };
    const fit = (e) => {
      e.style.fontSize = '';
      if (e.scrollWidth > e.clientWidth) {
        e.style.fontSize = Math.floor(parseFloat(getComputedStyle(e).fontSize) * e.clientWidth / e.scrollWidth) + 'px';
      }
    };
    addEventListener('resize', () => document.querySelectorAll('.wb-num').forEach(fit));
    const level = (id, l) => { const t = $('#' + id).closest('.wb-tile'); if (t.dataset.level !== l) t.dataset.level = l; };

    async function load() {
      let r;
      try {
        r = await api('GET', '/api/v1/wallboard/' + encodeURIComponent(q));
      } catch (e) {
        set('wb-error', 'The box cannot be reached; figures may be out of date.');
        return;
      }
      if (!r.ok) { set('wb-error', (r.data && r.data.error) || ('The box answered HTTP ' + r.status + '.')); return; }
      const b = r.data;
      set('wb-error', '');
      set('wb-waiting', String(b.waiting));
      oldest = b.waiting ? serverNow() - b.longest_wait_seconds * 1000 : 0;
      set('wb-available', String(b.agents.available));
      set('wb-oncall', String(b.agents.on_call));
      set('wb-wrapup', String(b.agents.wrapup));
      level('wb-waiting', b.waiting && !b.agents.available ? 'bad' : (b.waiting ? 'warn' : ''));
      const t = b.today;
      if (t) {
        set('wb-answered', String(t.answered));
        set('wb-abandoned', String(t.abandoned));
        set('wb-sl', t.service_level === null ? '–' : Math.round(t.service_level) + '%');
        set('wb-sl-target', 'answered within ' + t.service_target + ' s');
        level('wb-sl', t.service_level === null ? '' : (t.service_level < 60 ? 'bad' : (t.service_level < 80 ? 'warn' : '')));
      }
      tick();
    }

    function tick() {
      const wait = oldest ? (serverNow() - oldest) / 1000 : 0;
      set('wb-longest', oldest ? fmtWait(wait) : '0:00');
      level('wb-longest', wait >= 120 ? 'bad' : (wait >= 60 ? 'warn' : ''));
      set('wb-clock', new Date(serverNow()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', timeZone: main.dataset.tz || undefined }));
    }

    wire([{ load, on: ['queue.', 'agent.', 'call.answered', 'call.ended', 'config.changed'] }]);
    setInterval(tick, 1000);
  }

  const init = { live: initLive, wallboard: initWallboard }[document.body.dataset.page];
  if (init) init();
})();
