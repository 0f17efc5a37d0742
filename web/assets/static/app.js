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
    const json = (res.headers.get('Content-Type') || '').startsWith('application/json');
    if (res.status !== 204 && json) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    return { status: res.status, ok: res.ok, data, json };
  }

  function errorText(r) {
    return (r.data && r.data.error) || ('The box answered HTTP ' + r.status + '.');
  }

  // ---- login and first-boot setup ----

  // nextPath is where a login goes: the page that sent the browser to the
  // login page, when it is one of the box's own.
  function nextPath() {
    const n = new URLSearchParams(location.search).get('next') || '/';
    return n.startsWith('/') && !n.startsWith('//') ? n : '/';
  }

  function initLogin() {
    const form = $('#login-form');
    const out = $('#form-error');
    // Sent here from /setup: first-boot setup is over for good.
    if (new URLSearchParams(location.search).get('setup') === 'done') $('#setup-done').hidden = false;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      out.textContent = '';
      const login = form.login.value.trim();
      const password = form.password.value;
      if (!login || !password) { out.textContent = 'Enter your login and password.'; return; }
      form.querySelector('button').disabled = true;
      try {
        const r = await api('POST', '/api/v1/session', { login, password });
        if (r.ok) { location.assign(nextPath()); return; }
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
        if (r.status === 409) { location.assign('/login?setup=done'); return; }
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
      streamEvents(addEvent, setStreamState);
    }
    const sources = [...document.querySelectorAll('section.source')].map(newSource);
    if (sources.length) liveSources(sources, main.dataset.section);
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

  function setStreamState(s, text) {
    const state = $('#stream-state');
    state.dataset.state = s;
    state.textContent = text;
  }

  // streamEvents reads /api/v1/events, calling onEvent with each event and
  // set with the stream's state ('live', 'reconnecting'). EventSource
  // cannot be used: it only delivers named events to listeners registered
  // for each name, and event types are open-ended.
  async function streamEvents(onEvent, set) {
    set = set || (() => {});
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
            handleBlock(buf.slice(0, i), onEvent);
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

  function handleBlock(block, onEvent) {
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (!data.length) return;
    let ev;
    try { ev = JSON.parse(data.join('\n')); } catch (e) { return; /* not an event */ }
    onEvent(ev);
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

  // Which events make a section's lists out of date. Other events (a DTMF
  // key, a login) change nothing these pages show.
  const SECTION_EVENTS = {
    calls: ['call.ended', 'recording.stopped'],
    queues: ['queue.', 'agent.', 'call.answered', 'call.ended', 'config.changed'],
    agents: ['agent.', 'presence.changed', 'config.changed'],
    extensions: ['sip.', 'presence.changed', 'config.changed'],
    routing: ['schedule.override', 'config.changed', 'sip.'],
    settings: ['config.changed', 'board.button'],
  };
  // Refresh at most this often on events, and this often without any
  // while the page is visible (a call's duration, a wrap-up ending).
  const MIN_REFRESH_MS = 2000;
  const POLL_MS = 15000;

  function newSource(sec) {
    return { sec, path: sec.dataset.source, status: $('.status', sec), box: $('.scroll', sec), shown: null, busy: false };
  }

  // liveSources loads each list, then reloads them when one of the
  // section's events arrives on the event stream, and every POLL_MS while
  // the page is visible. One request per list at a time; a list is
  // redrawn only when its answer changed, so nothing flickers.
  function liveSources(sources, section) {
    const wanted = SECTION_EVENTS[section] || [];
    let last = 0, timer = null;
    const all = () => {
      clearTimeout(timer);
      timer = null;
      last = Date.now();
      sources.forEach(loadSource);
    };
    const soon = () => {
      if (timer || document.hidden) return;
      timer = setTimeout(all, Math.max(0, last + MIN_REFRESH_MS - Date.now()));
    };
    all();
    if (wanted.length) {
      streamEvents((ev) => {
        if (wanted.some((w) => ev.type === w || (w.endsWith('.') && ev.type.startsWith(w)))) soon();
      });
    }
    setInterval(() => { if (!document.hidden && Date.now() - last >= POLL_MS) all(); }, 1000);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) soon(); });
  }

  async function loadSource(src) {
    if (src.busy || src.file) return; // the answer on its way will be as fresh
    src.busy = true;
    const { status, box } = src;
    try {
      const r = await api('GET', src.path);
      if (r.status === 401) { location.assign('/login'); return; }
      if (r.status === 404) { status.textContent = 'Not available in this firmware.'; return; }
      if (r.status === 403) { status.textContent = 'Your role cannot see this.'; return; }
      if (!r.ok) { status.textContent = errorText(r); return; }
      if (!r.json) {
        // A file, not a list: link to it, and never fetch it again.
        src.file = true;
        status.textContent = '';
        box.replaceChildren(el('a', 'Download', { href: src.path, download: '' }));
        return;
      }
      status.textContent = '';
      const text = JSON.stringify(r.data);
      if (text === src.shown) return;
      src.shown = text;
      box.replaceChildren(renderJSON(r.data));
    } catch (e) {
      // Keep the last answer on screen; say it may be old.
      status.textContent = src.shown === null ? 'The box cannot be reached.' : 'The box cannot be reached; this may be out of date.';
    } finally {
      src.busy = false;
    }
  }

  // Words that read as capitals in headings.
  const UPPER = { id: 'ID', ip: 'IP', url: 'URL', sip: 'SIP', cdr: 'CDR', dtmf: 'DTMF', ivr: 'IVR', led: 'LED',
    rtp: 'RTP', moh: 'MOH', dbfs: 'dBFS', rms: 'RMS', fxs: 'FXS', fxo: 'FXO', cli: 'CLI', tls: 'TLS', tcp: 'TCP',
    udp: 'UDP', mwi: 'MWI', api: 'API' };

  // heading turns a JSON key into words: "user_agent" -> "User agent".
  function heading(key) {
    const words = String(key).split(/[_\s]+/).filter(Boolean).map((w) => UPPER[w.toLowerCase()] || w.toLowerCase());
    if (!words.length) return '';
    const first = words[0];
    words[0] = first === first.toLowerCase() ? first.charAt(0).toUpperCase() + first.slice(1) : first;
    return words.join(' ');
  }

  const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
  let timeFmt = null;

  // when shows an RFC 3339 time in the site's zone (main's data-tz), to
  // the second: "2026-03-01 10:00:05". Go's zero time is "never": blank.
  function when(s) {
    if (s.startsWith('0001-01-01')) return '';
    // Go writes nanoseconds; not every browser parses more than
    // milliseconds.
    const d = new Date(s.replace(/(\.\d{3})\d+/, '$1'));
    if (isNaN(d)) return s;
    if (!timeFmt) {
      const opts = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
      const main = $('#main');
      try {
        timeFmt = new Intl.DateTimeFormat('en-CA', Object.assign({ timeZone: (main && main.dataset.tz) || 'UTC' }, opts));
      } catch (e) {
        timeFmt = new Intl.DateTimeFormat('en-CA', Object.assign({ timeZone: 'UTC' }, opts));
      }
    }
    const p = {};
    for (const { type, value } of timeFmt.formatToParts(d)) p[type] = value;
    return p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute + ':' + p.second;
  }

  // cell is a value as a person reads it: yes/no, times in the site's
  // zone, lists joined with commas, objects as "Key: value" pairs, and
  // nothing at all for empty values.
  function cell(v) {
    if (v === null || v === undefined || v === '') return '';
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v === 'string') return RFC3339.test(v) ? when(v) : v;
    if (Array.isArray(v)) {
      const sep = v.some((x) => x && typeof x === 'object') ? '; ' : ', ';
      return v.map(cell).filter((x) => x !== '').join(sep);
    }
    if (typeof v === 'object') {
      return Object.keys(v).map((k) => [k, cell(v[k])]).filter(([, c]) => c !== '')
        .map(([k, c]) => heading(k) + ': ' + c).join(', ');
    }
    return String(v);
  }

  function renderJSON(v) {
    if (v && !Array.isArray(v) && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length === 1 && Array.isArray(v[keys[0]])) return renderJSON(v[keys[0]]);
      const dl = el('dl', null, { class: 'facts' });
      for (const k of keys) {
        const x = v[k];
        const dd = el('dd');
        if (Array.isArray(x) && x.length && x.every((r) => r && typeof r === 'object' && !Array.isArray(r))) {
          dd.append(renderJSON(x)); // a list inside an answer: its own table
        } else if (Array.isArray(x) && !x.length) {
          dd.append(el('span', 'None yet.', { class: 'muted' }));
        } else {
          dd.textContent = cell(x);
        }
        dl.append(el('dt', heading(k)), dd);
      }
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
    for (const c of cols) hr.append(el('th', heading(c), { scope: 'col' }));
    table.append(el('thead'), el('tbody'));
    table.tHead.append(hr);
    for (const row of v) {
      const tr = el('tr');
      for (const c of cols) {
        const raw = row[c];
        const td = el('td', cell(raw));
        if (typeof raw === 'string' && RFC3339.test(raw)) td.title = raw; // the exact instant on hover
        tr.append(td);
      }
      table.tBodies[0].append(tr);
    }
    return table;
  }

  // Under Node (web/viewer_test.go) there is no page: hand the viewer out.
  if (typeof module === 'object' && module.exports) module.exports.viewer = { heading, cell, renderJSON, SECTION_EVENTS, newSource, loadSource };

  // ---- the installer's console (server-rendered; this only helps) ----

  function initConsole() {
    initShell();
    // Lists of rows: see wireList.
    document.querySelectorAll('ol.row-list').forEach(wireList);
    document.querySelectorAll('li.row').forEach(wireRow);
    document.querySelectorAll('select[data-pick]').forEach(wirePick);
    document.querySelectorAll('[data-toggles]').forEach((cb) => {
      const body = document.getElementById(cb.dataset.toggles);
      const sync = () => { body.hidden = !cb.checked; };
      cb.addEventListener('change', sync);
      sync();
    });
    document.querySelectorAll('form[data-confirm]').forEach((f) => {
      f.addEventListener('submit', (ev) => { if (!confirm(f.dataset.confirm)) ev.preventDefault(); });
    });
    // Long actions say they are under way.
    document.querySelectorAll('form[data-busy]').forEach((f) => {
      f.addEventListener('submit', () => {
        const b = f.querySelector('button[type=submit],button:not([type])');
        if (b) { b.disabled = true; b.textContent = f.dataset.busy; }
      });
    });
    const q = document.querySelector('input[data-filter]');
    if (q) {
      const table = document.querySelector(q.dataset.filter);
      q.addEventListener('input', () => {
        const t = q.value.trim().toLowerCase();
        let shown = 0;
        if (!table) return;
        table.querySelectorAll('tbody tr').forEach((tr) => {
          const hit = !t || (tr.dataset.search || '').includes(t);
          tr.hidden = !hit;
          if (hit) shown++;
        });
        const none = document.getElementById('list-none');
        if (none) none.hidden = shown > 0;
      });
    }
    document.querySelectorAll('form.upload').forEach(wireUpload);
    // The audio page shows a take recorded from a phone (*70) as soon as
    // it is stored: it reloads when the configuration version changes,
    // unless an upload is under way.
    if (document.getElementById('upload-prompt')) {
      let version = null;
      setInterval(async () => {
        if (document.hidden || document.querySelector('form.upload button:disabled')) return;
        try {
          const r = await api('GET', '/api/v1/config');
          if (!r.ok) return;
          if (version !== null && r.data.version !== version) location.reload();
          version = r.data.version;
        } catch (e) { /* the box is restarting: try again */ }
      }, 3000);
    }
    const fd = document.getElementById('file-diff');
    if (fd) {
      fd.addEventListener('toggle', async () => {
        if (!fd.open || fd.dataset.loaded) return;
        fd.dataset.loaded = '1';
        const pre = fd.querySelector('pre');
        pre.textContent = 'Loading…';
        try {
          const r = await fetch(fd.dataset.src, { cache: 'no-store' });
          pre.textContent = r.ok ? await r.text() : 'The box answered HTTP ' + r.status + '.';
        } catch (e) { pre.textContent = 'The box cannot be reached.'; }
      });
    }
    const rf = document.getElementById('restore-form');
    if (rf) wireRestore(rf);
    const flash = document.querySelector('.flash-bad, .field-error');
    if (flash) flash.scrollIntoView({ block: 'center' });
  }

  // wireList makes a list's "add" button clone its (hidden) blank row with
  // the next free index in the input names, so the server reads the rows in
  // order. Without JavaScript the blank row stays visible: one row to add.
  function wireList(list) {
    const blank = list.querySelector(':scope > li.blank');
    const btn = list.nextElementSibling;
    if (!blank || !btn || list.dataset.wired) return;
    list.dataset.wired = '1';
    blank.hidden = true;
    // Indices only need to be unique and ordered: past the blank row and
    // every row there is.
    let next = Number(blank.dataset.index) + 1 + list.querySelectorAll(':scope > li.row:not(.blank)').length;
    const add = (focus) => {
      const from = blank.dataset.index, to = String(next++);
      const base = list.dataset.rows.replace(/\./g, '\\.') + (list.dataset.map ? '\\.[kv]' : '');
      const nameRe = new RegExp('^(' + base + '\\.)' + from + '(?=\\.|$)');
      const idRe = new RegExp('^(f-' + list.dataset.rows.replace(/\./g, '-') + (list.dataset.map ? '-[kv]' : '') + '-)' + from + '(?=-|$)');
      const row = blank.cloneNode(true);
      row.classList.remove('blank');
      row.hidden = false;
      row.removeAttribute('data-index');
      row.querySelectorAll('[name]').forEach((f) => { f.name = f.name.replace(nameRe, '$1' + to); });
      const rowsRe = new RegExp('^(' + list.dataset.rows.replace(/\./g, '\\.') + '\\.)' + from + '(?=\\.|$)');
      row.querySelectorAll('[data-rows]').forEach((l) => {
        l.dataset.rows = l.dataset.rows.replace(rowsRe, '$1' + to);
        delete l.dataset.wired;
      });
      row.querySelectorAll('[data-add]').forEach((b) => { b.dataset.add = b.dataset.add.replace(rowsRe, '$1' + to); });
      for (const a of ['id', 'for', 'aria-describedby', 'data-toggles']) {
        row.querySelectorAll('[' + a + ']').forEach((f) => {
          f.setAttribute(a, f.getAttribute(a).split(' ').map((v) => v.replace(idRe, '$1' + to)).join(' '));
        });
      }
      list.insertBefore(row, blank);
      wireRow(row);
      row.querySelectorAll('ol.row-list').forEach(wireList);
      const first = row.querySelector('input,select');
      if (first && focus) first.focus();
    };
    btn.addEventListener('click', () => add(true));
    // An empty list starts with one row to fill in (not inside the hidden
    // template row of an outer list: its copies get theirs when added).
    if (!list.querySelector(':scope > li.row:not(.blank)') && !list.closest('li.blank')) add(false);
  }

  function wireRow(row) {
    const rm = row.querySelector(':scope > button.remove');
    if (rm) rm.addEventListener('click', () => row.remove());
    row.querySelectorAll('select[data-pick]').forEach(wirePick);
  }

  // A big picker's choices are sent once per page (a script element of
  // type application/json); its selects are filled when first used.
  function fillPick(sel) {
    if (!sel.dataset.src || sel.dataset.filled) return;
    sel.dataset.filled = '1';
    const data = document.getElementById('pick-' + sel.dataset.src);
    if (!data) return;
    const cur = sel.value;
    const frag = document.createDocumentFragment();
    let found = false;
    for (const g of JSON.parse(data.textContent)) {
      const parent = g.l ? el('optgroup', null, { label: g.l }) : frag;
      for (const [v, label] of g.o) {
        const o = el('option', label, { value: g.p + v });
        if (g.p + v === cur) { o.selected = true; found = true; }
        parent.append(o);
      }
      if (g.l) frag.append(parent);
    }
    const missing = found ? null : sel.querySelector('option:checked');
    sel.textContent = '';
    sel.append(frag);
    if (missing && missing.value !== '') { sel.append(missing); missing.selected = true; }
    else if (!found) sel.value = cur;
  }

  // An outside-number box shows only when "Outside number…" is picked.
  function wirePick(sel) {
    for (const ev of ['focus', 'mousedown', 'touchstart', 'keydown']) sel.addEventListener(ev, () => fillPick(sel), { once: true });
    const ext = sel.parentElement.querySelector('input.external');
    if (!ext) return;
    const sync = () => { ext.hidden = sel.value !== 'external'; };
    sel.addEventListener('change', () => { sync(); if (!ext.hidden) ext.focus(); });
    sync();
  }

  // Uploads go to the API with a progress bar; the page reloads to show
  // the new file with its length and level.
  function wireUpload(form) {
    const bar = form.querySelector('progress');
    const msg = form.querySelector('.upload-msg');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const file = form.querySelector('input[type=file]').files[0];
      const id = form.querySelector(form.dataset.kind === 'prompt' ? 'input[name="id"]' : 'input[name="class"]').value.trim();
      if (!file || !id) { msg.textContent = 'Choose a name and a file.'; return; }
      const url = form.dataset.kind === 'prompt'
        ? '/api/v1/prompts/' + encodeURIComponent(id)
        : '/api/v1/holdmusic/' + encodeURIComponent(id) + '/tracks';
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url);
      xhr.setRequestHeader('X-Requested-With', 'ringbox');
      const type = file.type || (/\.mp3$/i.test(file.name) ? 'audio/mpeg' : /\.wav$/i.test(file.name) ? 'audio/wav' : 'application/octet-stream');
      xhr.setRequestHeader('Content-Type', type);
      bar.hidden = false; bar.value = 0;
      msg.textContent = 'Uploading ' + file.name + '…';
      form.querySelector('button').disabled = true;
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
      xhr.upload.onload = () => { msg.textContent = 'Checking and converting ' + file.name + '…'; };
      xhr.onload = () => {
        form.querySelector('button').disabled = false;
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status >= 200 && xhr.status < 300) {
          bar.value = 100;
          msg.textContent = 'Stored ' + id + (data && data.duration_seconds ? ' (' + data.duration_seconds.toFixed(1) + ' s)' : '') + '.';
          msg.className = 'upload-msg flash flash-ok';
          setTimeout(() => location.reload(), 600);
          return;
        }
        bar.hidden = true;
        msg.className = 'upload-msg flash flash-bad';
        msg.textContent = (data && data.error) || ('The box answered HTTP ' + xhr.status + '.');
      };
      xhr.onerror = () => {
        form.querySelector('button').disabled = false;
        bar.hidden = true;
        msg.className = 'upload-msg flash flash-bad';
        msg.textContent = 'The upload failed: the box cannot be reached.';
      };
      xhr.send(file);
    });
  }

  // Restore: upload the archive with progress, show what it replaces, then
  // on confirmation restore and wait for the box to come back.
  function wireRestore(form) {
    const bar = form.querySelector('progress');
    const msg = form.querySelector('.upload-msg');
    const planBox = document.getElementById('restore-plan');
    const say = (cls, text) => { msg.className = 'upload-msg' + (cls ? ' flash flash-' + cls : ''); msg.textContent = text; };
    let planID = '';
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const file = form.querySelector('input[type=file]').files[0];
      if (!file) { say('bad', 'Choose a backup archive.'); return; }
      planBox.hidden = true;
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/v1/restore/inspect');
      xhr.setRequestHeader('X-Requested-With', 'ringbox');
      xhr.setRequestHeader('Content-Type', 'application/gzip');
      bar.hidden = false; bar.value = 0;
      say('', 'Uploading ' + file.name + '…');
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
      xhr.upload.onload = () => say('', 'Checking the archive…');
      xhr.onerror = () => { bar.hidden = true; say('bad', 'The upload failed: the box cannot be reached.'); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        bar.hidden = true;
        if (xhr.status !== 200 || !data) { say('bad', (data && data.error) || ('The box answered HTTP ' + xhr.status + '.')); return; }
        say('ok', file.name + ' is a Ringbox backup.');
        planID = data.id;
        const body = planBox.querySelector('tbody');
        body.textContent = '';
        const rows = [['Site', 'site'], ['Extensions', 'extensions'], ['Queues', 'queues'], ['Ring groups', 'ring_groups'], ['IVRs', 'ivrs'],
          ['Trunks', 'trunks'], ['Web users', 'users'], ['Audio files', 'audio_files'], ['Voicemail messages', 'voicemail_messages'],
          ['Recordings', 'recordings'], ['Call records', 'cdrs']];
        for (const [label, key] of rows) {
          const tr = el('tr');
          tr.append(el('th', label, { scope: 'row' }), el('td', String(data.current[key] ?? '')), el('td', String(data.backup[key] ?? '')));
          body.append(tr);
        }
        planBox.querySelector('.restore-made').textContent = 'Made by firmware ' + data.manifest.firmware + ' on ' +
          new Date(data.manifest.created).toLocaleString() + (data.keeps_recordings ? '; the box keeps its recordings (the archive has none).' : '.');
        planBox.hidden = false;
      };
      xhr.send(file);
    });
    document.getElementById('restore-go').addEventListener('click', async () => {
      if (!planID || !confirm('Replace everything on the box with this backup and restart?')) return;
      const btn = document.getElementById('restore-go');
      btn.disabled = true; btn.textContent = 'Restoring…';
      const r = await api('POST', '/api/v1/restore/' + encodeURIComponent(planID));
      if (r.status !== 202) { btn.disabled = false; btn.textContent = 'Restore and restart'; say('bad', errorText(r)); return; }
      say('info', 'Restoring: the box is restarting. This page reloads when it is back.');
      await sleep(2000);
      for (let i = 0; i < 120; i++) {
        try { const h = await api('GET', '/api/v1/health'); if (h.ok) { location.assign('/login'); return; } } catch (e) { /* still restarting */ }
        await sleep(1000);
      }
      say('bad', 'The box has not come back after two minutes: check its power and network.');
    });
  }

  const init = { login: initLogin, setup: initSetup, shell: initShell, console: initConsole }[document.body.dataset.page];
  if (init) init();
})();
