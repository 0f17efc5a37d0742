// The System page (/system). Plain JavaScript, no build step, no inline
// script (the CSP forbids it). The page is drawn by the server and its
// forms work without this file; it adds the firmware upload (with a
// progress bar), reboot and shutdown (after a confirmation), showing and
// hiding the static-address fields, and the log filter without a reload.
'use strict';

(function () {
  const XRW = { 'X-Requested-With': 'ringbox' };
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  async function api(method, path) {
    const res = await fetch(path, { method, headers: Object.assign({ Accept: 'application/json' }, XRW), cache: 'no-store' });
    let data = null;
    if ((res.headers.get('Content-Type') || '').startsWith('application/json')) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    return { status: res.status, ok: res.ok, data };
  }

  function say(e, text, bad) {
    e.textContent = text;
    e.classList.toggle('bad', !!bad);
  }

  $('#logout').addEventListener('click', async () => {
    try { await api('DELETE', '/api/v1/session'); } finally { location.assign('/login'); }
  });

  // ---- network: the static fields only matter for a static address ----
  const form = $('#net-form');
  if (form) {
    const sync = () => {
      const mode = (form.querySelector('input[name="mode"]:checked') || {}).value;
      $('#static-fields').hidden = mode !== 'static';
    };
    $$('input[name="mode"]', form).forEach((r) => r.addEventListener('change', sync));
    sync();
  }

  // ---- reboot and shutdown ----
  const WORDS = {
    reboot: ['Reboot the box now? Calls in progress are ended.', 'The box is rebooting. This page answers again in about a minute.'],
    shutdown: ['Shut the box down? Calls in progress are ended, and it stays off until its power is cycled.', 'The box is shutting down.'],
  };
  $$('button[data-power]').forEach((b) => b.addEventListener('click', async () => {
    const action = b.dataset.power;
    const msg = b.closest('#fw-form') ? $('#fw-msg') : $('#power-msg');
    if (!window.confirm(WORDS[action][0])) return;
    try {
      const r = await api('POST', '/api/v1/system/' + action);
      if (r.ok) say(msg, WORDS[action][1]);
      else say(msg, (r.data && r.data.error) || ('The box answered HTTP ' + r.status + '.'), true);
    } catch (e) {
      say(msg, 'The box did not answer: ' + e.message, true);
    }
  }));

  // ---- firmware upload: the bundle as the raw body, with progress ----
  const fw = $('#fw-form');
  if (fw) {
    fw.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const file = $('#fw-file').files[0];
      const msg = $('#fw-msg');
      const bar = $('#fw-progress');
      const btn = $('#fw-submit');
      if (!file) { say(msg, 'Choose an update bundle first.', true); $('#fw-file').focus(); return; }
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/v1/system/firmware' + ($('#fw-force').checked ? '?force=1' : ''));
      xhr.setRequestHeader('X-Requested-With', 'ringbox');
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.setRequestHeader('Accept', 'application/json');
      // Once the bundle is up, the box checks and writes it: its progress
      // is in GET /api/v1/system/firmware until the answer comes.
      let polling = null;
      const STEPS = { verify: 'Checking the signature', write: 'Writing the inactive slot', done: 'Finishing' };
      const pollInstall = async () => {
        try {
          const r = await api('GET', '/api/v1/system/firmware');
          const p = r.ok && r.data && r.data.progress;
          if (polling && p && p.total > 0) {
            bar.value = Math.round(100 * p.done / p.total);
            say(msg, (STEPS[p.step] || p.step) + '… ' + bar.value + '%');
          }
        } catch (e) { /* the answer to the upload says what happened */ }
      };
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        const pct = Math.round(100 * e.loaded / e.total);
        bar.value = pct;
        say(msg, e.loaded < e.total ? 'Uploading… ' + pct + '%' : 'Uploaded: checking the signature and installing…');
        if (e.loaded >= e.total && !polling) polling = setInterval(pollInstall, 500);
      };
      xhr.onloadend = () => { clearInterval(polling); polling = null; };
      xhr.onload = () => {
        btn.disabled = false;
        bar.hidden = true;
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status >= 200 && xhr.status < 300 && data) {
          const info = data.info || {};
          const slot = (data.pending && (data.pending.name || data.pending.slot)) || '';
          say(msg, 'Installed version ' + (info.version || '?') + (slot ? ' into slot ' + slot : '') + '. Reboot to run it.');
          $('#fw-reboot').hidden = !data.reboot_required;
        } else {
          say(msg, (data && data.error) || ('The box answered HTTP ' + xhr.status + '.'), true);
        }
      };
      xhr.onerror = () => { btn.disabled = false; bar.hidden = true; say(msg, 'The upload failed: the box did not answer.', true); };
      btn.disabled = true;
      bar.value = 0;
      bar.hidden = false;
      $('#fw-reboot').hidden = true;
      say(msg, 'Uploading…');
      xhr.send(file);
    });
  }

  // ---- log filter without a reload ----
  const logForm = $('#log-form');
  if (logForm) {
    // Times in the site's zone, as the server draws them (2006-01-02 15:04:05).
    const tz = $('#main').dataset.tz || 'UTC';
    const fmt = (t) => {
      try {
        return new Date(t).toLocaleString('sv-SE', { timeZone: tz, hour12: false });
      } catch (e) { return t; }
    };
    const load = async () => {
      const level = $('#log-level').value;
      const count = $('#log-count');
      try {
        const r = await api('GET', '/api/v1/system/logs?level=' + encodeURIComponent(level) + '&limit=200');
        if (!r.ok) { say(count, (r.data && r.data.error) || ('HTTP ' + r.status), true); return; }
        const tbody = $('#log-table tbody');
        tbody.replaceChildren(...r.data.map((rec) => {
          const lv = String(rec.level).toLowerCase();
          const tr = el('tr', null, { 'data-level': lv });
          tr.append(el('td', fmt(rec.time), { class: 'nowrap mono' }));
          const l = el('td'); l.append(el('span', lv, { class: 'lvl' })); tr.append(l);
          const m = el('td'); m.append(el('span', rec.message, { class: 'msg' }), ' ', el('span', rec.attrs || '', { class: 'mono attrs' })); tr.append(m);
          return tr;
        }));
        say(count, r.data.length + ' lines');
        const u = new URL(location.href);
        u.searchParams.set('level', level);
        history.replaceState(null, '', u.pathname + u.search + '#logs');
      } catch (e) {
        say(count, 'The box did not answer: ' + e.message, true);
      }
    };
    logForm.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
    $('#log-level').addEventListener('change', load);
    $('#log-refresh').textContent = 'Refresh';
  }
})();
