// Ringbox web UI. Plain JavaScript, no build step; the server's
// Content-Security-Policy allows no inline script, so all of it lives here.
'use strict';

(function () {
  // Every state-changing API call sends this header: the server refuses
  // cookie-authenticated POST/PUT/PATCH/DELETE without it (CSRF defence).
  const XRW = { 'X-Requested-With': 'ringbox' };
  const MAX_EVENTS = 50;

  const $ = (sel, root) => (root || document).querySelector(sel);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  async function api(method, path, body) {
    const opts = { method, headers: Object.assign({ Accept: 'application/json' }, XRW), cache: 'no-store' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(path, opts);
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    return { status: res.status, ok: res.ok, data };
  }

  function errorText(r) {
    return (r.data && r.data.error) || ('The box answered HTTP ' + r.status + '.');
  }

  // ---- login and first-boot setup ----

  function initLogin() {
    const form = $('#login-form');
    const out = $('#form-error');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      out.textContent = '';
      const login = form.login.value.trim();
      const password = form.password.value;
      if (!login || !password) { out.textContent = 'Enter your login and password.'; return; }
      form.querySelector('button').disabled = true;
      try {
        const r = await api('POST', '/api/v1/session', { login, password });
        if (r.ok) { location.assign('/'); return; }
        out.textContent = errorText(r);
      } catch (e) {
        out.textContent = 'The box cannot be reached.';
      } finally {
        form.querySelector('button').disabled = false;
      }
    });
  }

  function initSetup() {
    const form = $('#setup-form');
    const out = $('#form-error');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      out.textContent = '';
      const login = form.login.value.trim();
      const password = form.password.value;
      const confirm = form.confirm.value;
      if (!login) { out.textContent = 'Choose a login name.'; return; }
      if ([...password].length < 10) { out.textContent = 'The password must have at least 10 characters.'; return; }
      if (password !== confirm) { out.textContent = 'The two passwords differ.'; return; }
      form.querySelector('button').disabled = true;
      try {
        const r = await api('POST', '/api/v1/setup', { login, password, confirm });
        if (r.ok) { location.assign('/'); return; }
        if (r.status === 409) { location.assign('/login'); return; }
        out.textContent = errorText(r);
      } catch (e) {
        out.textContent = 'The box cannot be reached.';
      } finally {
        form.querySelector('button').disabled = false;
      }
    });
  }

  // ---- page shell ----

  function initShell() {
    $('#logout').addEventListener('click', async () => {
      try { await api('DELETE', '/api/v1/session'); } finally { location.assign('/login'); }
    });
    const main = $('#main');
    if (main.dataset.section === 'dashboard') {
      initHealth();
      streamEvents();
    }
    document.querySelectorAll('section.source').forEach(loadSource);
  }

  function fmtDuration(s) {
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    const parts = [];
    if (d) parts.push(d + ' d');
    if (d || h) parts.push(h + ' h');
    if (d || h || m) parts.push(m + ' min');
    parts.push((s % 60) + ' s');
    return parts.join(' ');
  }

  function initHealth() {
    let base = 0, at = 0;
    const tick = () => {
      if (at) $('#health-uptime').textContent = fmtDuration(base + Math.floor((Date.now() - at) / 1000));
    };
    const refresh = async () => {
      try {
        const r = await api('GET', '/api/v1/health');
        if (!r.ok) throw new Error(errorText(r));
        $('#health-status').textContent = r.data.status;
        $('#health-version').textContent = r.data.version || 'unknown';
        base = r.data.uptime_seconds; at = Date.now();
        tick();
      } catch (e) {
        $('#health-status').textContent = 'unreachable';
      }
    };
    refresh();
    setInterval(refresh, 30000);
    setInterval(tick, 1000);
  }

  // streamEvents reads /api/v1/events. EventSource cannot be used: it only
  // delivers named events to listeners registered for each name, and event
  // types are open-ended.
  async function streamEvents() {
    const state = $('#stream-state');
    const set = (s, text) => { state.dataset.state = s; state.textContent = text; };
    for (;;) {
      try {
        const res = await fetch('/api/v1/events', { headers: { Accept: 'text/event-stream' }, cache: 'no-store' });
        if (res.status === 401) { location.assign('/login'); return; }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        set('live', 'live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value.replace(/\r\n?/g, '\n');
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            handleBlock(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        }
      } catch (e) {
        // fall through to reconnect
      }
      set('reconnecting', 'reconnecting…');
      await sleep(3000);
    }
  }

  function handleBlock(block) {
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (!data.length) return;
    try { addEvent(JSON.parse(data.join('\n'))); } catch (e) { /* not an event */ }
  }

  function addEvent(ev) {
    const body = $('#events tbody');
    const tr = el('tr', null, { 'data-type': ev.type });
    tr.append(
      el('td', String(ev.seq)),
      el('td', new Date(ev.time).toLocaleTimeString(), { title: ev.time }),
      el('td', ev.type),
      el('td', ev.data === undefined ? '' : JSON.stringify(ev.data), { class: 'mono' }),
    );
    body.prepend(tr);
    while (body.rows.length > MAX_EVENTS) body.deleteRow(body.rows.length - 1);
    $('#events-empty').hidden = true;
  }

  // ---- sections: show whatever a GET route answers ----

  async function loadSource(sec) {
    const status = $('.status', sec);
    const box = $('.scroll', sec);
    try {
      const r = await api('GET', sec.dataset.source);
      if (r.status === 401) { location.assign('/login'); return; }
      if (r.status === 404) { status.textContent = 'Not available in this firmware.'; return; }
      if (r.status === 403) { status.textContent = 'Your role cannot see this.'; return; }
      if (!r.ok) { status.textContent = errorText(r); return; }
      status.textContent = '';
      box.append(renderJSON(r.data));
    } catch (e) {
      status.textContent = 'The box cannot be reached.';
    }
  }

  function cell(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function renderJSON(v) {
    if (v && !Array.isArray(v) && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length === 1 && Array.isArray(v[keys[0]])) return renderJSON(v[keys[0]]);
      const dl = el('dl', null, { class: 'facts' });
      for (const k of keys) dl.append(el('dt', k), el('dd', cell(v[k])));
      return dl;
    }
    if (!Array.isArray(v)) return el('p', cell(v));
    if (!v.length) return el('p', 'None yet.', { class: 'muted' });
    if (!v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
      const ul = el('ul');
      for (const x of v) ul.append(el('li', cell(x)));
      return ul;
    }
    const cols = [];
    for (const row of v) for (const k of Object.keys(row)) if (!cols.includes(k)) cols.push(k);
    const table = el('table');
    const hr = el('tr');
    for (const c of cols) hr.append(el('th', c, { scope: 'col' }));
    table.append(el('thead'), el('tbody'));
    table.tHead.append(hr);
    for (const row of v) {
      const tr = el('tr');
      for (const c of cols) tr.append(el('td', cell(row[c])));
      table.tBodies[0].append(tr);
    }
    return table;
  }

  const init = { login: initLogin, setup: initSetup, shell: initShell }[document.body.dataset.page];
  if (init) init();
})();
