// Ringbox agent page (/agent): status, queues, wrap-up, today's figures,
// the incoming-call banner with the caller's history and notes, browser
// notifications, and the browser phone (WebRTC, signalled over
// /api/v1/agent/ws). Plain JavaScript, no build step; the page's CSP
// allows no inline script, so all of it lives here.
'use strict';

(function () {
  const XRW = { 'X-Requested-With': 'ringbox' };
  const $ = (sel, root) => (root || document).querySelector(sel);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const main = $('#main');
  const me = main.dataset.agent;

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
    if (res.status === 401) { location.assign('/login?next=/agent'); throw new Error('logged out'); }
    let data = null;
    if (res.status !== 204 && (res.headers.get('Content-Type') || '').startsWith('application/json')) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    return { status: res.status, ok: res.ok, data };
  }
  const errorText = (r) => (r.data && r.data.error) || ('The box answered HTTP ' + r.status + '.');

  function fmtSecs(s) {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const mm = h ? String(m).padStart(2, '0') : String(m);
    return (h ? h + ':' : '') + mm + ':' + String(sec).padStart(2, '0');
  }
  const agentPath = (rest) => '/api/v1/agents/' + encodeURIComponent(me) + (rest || '');

  $('#logout').addEventListener('click', async () => {
    try { await api('DELETE', '/api/v1/session'); } catch (e) { /* going anyway */ }
    location.assign('/login');
  });
  if (!me) return; // not bound to an agent: the page says so

  // ---- state, refreshed from the API when events say it changed ----

  let agent = null;        // AgentInfo
  let queues = [];         // my queues, live
  let queuesAt = 0;        // when queues was fetched (waits tick from it)
  const offers = new Map(); // call id -> AgentOffered, ringing for me now
  let shown = null;        // the call id the banner shows
  let noteCall = null;     // { id, caller, name }: the call a note goes with

  function say(sel, text, bad) {
    const e = $(sel);
    e.textContent = text || '';
    e.classList.toggle('error', !!bad);
  }

  // refresher runs f at most once at a time; a call while it runs runs it
  // again once more afterwards, so the last change is always shown.
  function refresher(f) {
    let running = false, again = false;
    return async function run() {
      if (running) { again = true; return; }
      running = true;
      try { await f(); } catch (e) { /* the next event or poll retries */ }
      running = false;
      if (again) { again = false; run(); }
    };
  }

  const refreshAgent = refresher(async () => {
    const r = await api('GET', agentPath());
    if (!r.ok) { say('#status-msg', errorText(r), true); return; }
    agent = r.data;
    renderAgent();
    renderQueues();
  });

  const refreshQueues = refresher(async () => {
    const r = await api('GET', '/api/v1/queues');
    if (!r.ok) return;
    const mine = new Set((agent && agent.queues) || []);
    queues = (r.data || []).filter((q) => mine.size === 0 || mine.has(q.id));
    queuesAt = Date.now();
    renderQueues();
  });

  const refreshToday = refresher(async () => {
    const r = await api('GET', agentPath('/today'));
    if (!r.ok) return;
    $('#today-answered').textContent = r.data.answered;
    $('#today-missed').textContent = r.data.missed;
    $('#today-declined').textContent = r.data.declined;
    $('#today-talk').textContent = fmtSecs(r.data.talk_seconds);
  });

  const STATUS = { logged_out: 'Logged out', available: 'Available', unavailable: 'Unavailable' };
  const STATE = { idle: 'Idle', offered: 'Ringing', on_call: 'On a call', wrapup: 'Wrap-up' };

  function renderAgent() {
    if (!agent) return;
    let st = STATUS[agent.status] || agent.status;
    if (agent.status === 'unavailable' && agent.reason) st += ' (' + agent.reason + ')';
    if (agent.until) st += ', back at ' + new Date(agent.until).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (agent.off_hours) st += ' · outside working hours';
    $('#st-status').textContent = st;
    $('#st-state').textContent = STATE[agent.state] || agent.state;
    $('#st-available').disabled = agent.status === 'available';
    $('#st-logout').disabled = agent.status === 'logged_out';
    $('#st-login').disabled = agent.status !== 'logged_out' && !(agent.queues_out || []).length;
    $('#wrapup').hidden = agent.state !== 'wrapup';
    tick();
  }

  function renderQueues() {
    const body = $('#queues tbody');
    body.replaceChildren();
    const out = new Set((agent && agent.queues_out) || []);
    const loggedIn = agent && agent.status !== 'logged_out';
    const waiting = [];
    for (const q of queues) {
      const inQ = loggedIn && !out.has(q.id);
      const longest = q.callers.reduce((m, c) => Math.max(m, c.wait_seconds), 0);
      const tr = el('tr');
      const btn = el('button', inQ ? 'Log out' : 'Log in', { type: 'button', class: 'small secondary', 'data-queue': q.id, 'data-in': inQ ? '1' : '' });
      tr.append(el('td', q.name || q.id), el('td', String(q.callers.length)),
        el('td', q.callers.length ? fmtSecs(longest) : '–', { 'data-wait': String(longest) }),
        el('td', inQ ? 'logged in' : 'logged out'), el('td'));
      tr.lastChild.append(btn);
      body.append(tr);
      for (const c of q.callers) waiting.push({ q, c });
    }
    const wb = $('#waiting tbody');
    wb.replaceChildren();
    waiting.sort((a, b) => b.c.wait_seconds - a.c.wait_seconds);
    for (const { q, c } of waiting) {
      const tr = el('tr');
      tr.append(el('td', q.name || q.id), el('td', String(c.position)),
        // No call id: the number is not shown while logged out of the
        // queue (docs/reports.md, "The scope rule").
        el('td', (c.name ? c.name + ' ' : '') + (c.from || (c.call ? 'unknown' : 'number hidden'))),
        el('td', fmtSecs(c.wait_seconds), { 'data-wait': String(c.wait_seconds) }));
      wb.append(tr);
    }
    $('#waiting').hidden = waiting.length === 0;
    $('#waiting-empty').hidden = waiting.length !== 0;
  }

  // ---- the clock: waits, wrap-up, the call's length ----

  function tick() {
    const since = (Date.now() - queuesAt) / 1000;
    for (const td of document.querySelectorAll('#queues td[data-wait], #waiting td[data-wait]')) {
      const w = Number(td.dataset.wait);
      if (w > 0) td.textContent = fmtSecs(w + since);
    }
    if (agent && agent.state === 'wrapup' && agent.wrapup_until) {
      const left = (new Date(agent.wrapup_until) - Date.now()) / 1000;
      $('#wrapup-left').textContent = fmtSecs(left);
    }
    const o = shown && offers.get(shown);
    if (o) $('#offer-waited').textContent = fmtSecs((Date.now() - new Date(o.since)) / 1000);
    if (phone.connectedAt) $('#phone-time').textContent = fmtSecs((Date.now() - phone.connectedAt) / 1000);
  }
  // Timers slow down in a hidden tab; the display catches up when shown,
  // and events and the phone's socket are not timers.
  setInterval(tick, 1000);

  // ---- buttons ----

  async function command(path, body) {
    say('#status-msg', '');
    try {
      const r = await api('POST', agentPath(path), body);
      if (!r.ok) { say('#status-msg', errorText(r), true); return; }
      if (r.data && r.data.warning) say('#status-msg', r.data.warning, true);
      if (r.data && r.data.agent) { agent = r.data.agent; renderAgent(); refreshQueues(); }
    } catch (e) {
      say('#status-msg', 'The box cannot be reached.', true);
    }
  }

  $('#st-available').addEventListener('click', () => command('/available'));
  $('#st-login').addEventListener('click', () => command('/login'));
  $('#st-logout').addEventListener('click', () => command('/logout'));
  $('#wrapup-extend').addEventListener('click', () => command('/wrapup', { extend: '30s' }));
  $('#wrapup-ready').addEventListener('click', () => command('/wrapup', { end: true }));
  $('#unavail-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = { reason: $('#unavail-reason').value };
    const t = $('#unavail-until').value; // HH:MM, the browser's clock
    if (t) {
      const [h, m] = t.split(':').map(Number);
      const d = new Date();
      d.setHours(h, m, 0, 0);
      if (d <= new Date()) d.setDate(d.getDate() + 1); // tomorrow morning
      body.until = d.toISOString();
    }
    command('/unavailable', body);
  });
  $('#queues').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-queue]');
    if (!b) return;
    command('/queues/' + encodeURIComponent(b.dataset.queue) + (b.dataset.in ? '/logout' : '/login'));
  });

  // ---- incoming calls ----

  function showOffer(o) {
    offers.set(o.call_id, o);
    shown = o.call_id;
    $('#offer').hidden = false;
    $('#offer-name').textContent = o.caller_name || 'Unknown caller';
    $('#offer-number').textContent = o.caller || '';
    $('#offer-via').textContent = o.via || '–';
    $('#offer-targets').textContent = (o.targets || []).join(', ') || '–';
    say('#offer-msg', '');
    $('#offer-decline').disabled = false;
    updateAccept();
    tick();
    setNoteCall({ id: o.call_id, caller: o.caller, name: o.caller_name });
    loadHistory(o);
    notify(o);
    ringer.start();
  }

  function endOffer(callID, outcome) {
    offers.delete(callID);
    closeNotification(callID);
    if (shown === callID) {
      const next = [...offers.values()].pop();
      if (next) { showOffer(next); } else { shown = null; $('#offer').hidden = true; }
    }
    if (!offers.size) ringer.stop();
    if (outcome === 'answered') refreshToday();
  }

  async function loadHistory(o) {
    const list = $('#offer-history');
    list.replaceChildren();
    $('#offer-history-empty').hidden = false;
    if (!o.caller) return;
    const r = await api('GET', '/api/v1/callers/' + encodeURIComponent(o.caller) + '/history');
    if (!r.ok || shown !== o.call_id) return;
    const calls = (r.data || []).filter((c) => c.call_id !== o.call_id);
    $('#offer-history-empty').hidden = calls.length !== 0;
    for (const c of calls) {
      const li = el('li');
      const when = new Date(c.time).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
      const where = (c.path || []).join(' → ') || c.callee;
      let what = c.outcome;
      if (c.outcome === 'answered') what = 'answered by ' + (c.agent || c.answered_by) + ', ' + fmtSecs(c.talk_seconds);
      li.append(el('strong', when), document.createTextNode(' · ' + where + ' · ' + what));
      for (const n of c.notes || []) {
        li.append(el('p', n.text + ' — ' + n.author + ', ' + new Date(n.time).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' }), { class: 'note' }));
      }
      list.append(li);
    }
  }

  async function decline(callID) {
    if (!callID) return;
    $('#offer-decline').disabled = true;
    try {
      const r = await api('POST', agentPath('/offers/' + encodeURIComponent(callID) + '/decline'));
      if (r.status === 409) { endOffer(callID, 'missed'); return; }
      if (!r.ok) { say('#offer-msg', errorText(r), true); $('#offer-decline').disabled = false; return; }
      say('#offer-msg', 'Declined: the call goes on to someone else.');
    } catch (e) {
      say('#offer-msg', 'The box cannot be reached.', true);
      $('#offer-decline').disabled = false;
    }
  }
  $('#offer-decline').addEventListener('click', () => decline(shown));
  $('#offer-accept').addEventListener('click', () => phone.accept(shown));

  // Accept is offered only when this browser is one of the ringing
  // devices and the box has told this page about the call.
  function updateAccept() {
    const o = shown && offers.get(shown);
    const ok = !!o && (o.targets || []).includes('browser') && phone.incoming.has(o.call_id) && !phone.pc;
    $('#offer-accept').hidden = !ok;
  }

  // ---- notifications ----

  const notes = new Map(); // call id -> Notification
  let swReg = null;         // the service worker that gives notifications buttons

  function notifyState() {
    if (!('Notification' in window) || !window.isSecureContext) {
      say('#notify-msg', 'This browser cannot show notifications for this page (they need https).', true);
      $('#notify-on').hidden = true;
      return;
    }
    switch (Notification.permission) {
      case 'granted':
        say('#notify-msg', 'Notifications are on.');
        $('#notify-on').hidden = true;
        break;
      case 'denied':
        say('#notify-msg', 'Notifications are blocked for this site. Allow them in the browser\'s site settings (the icon left of the address), then reload.', true);
        $('#notify-on').hidden = true;
        break;
      default:
        $('#notify-on').hidden = false;
    }
  }

  $('#notify-on').addEventListener('click', async () => {
    ringer.unlock(); // a click is what lets the page make sound
    try { await Notification.requestPermission(); } catch (e) { /* old browsers: callback form */ }
    notifyState();
    registerSW();
  });

  async function registerSW() {
    if (!('serviceWorker' in navigator) || Notification.permission !== 'granted') return;
    try {
      swReg = await navigator.serviceWorker.register('/static/agent-sw.js');
    } catch (e) {
      swReg = null; // e.g. a self-signed certificate: plain notifications still work
    }
  }

  if ('serviceWorker' in navigator) {
    // Accept and Decline pressed on a notification (agent-sw.js).
    navigator.serviceWorker.addEventListener('message', (ev) => {
      const m = ev.data || {};
      if (m.agent !== me || !m.call) return;
      window.focus();
      if (m.action === 'decline') decline(m.call);
      if (m.action === 'accept') { shown = m.call; phone.accept(m.call); }
    });
  }

  function notify(o) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    const title = 'Call from ' + (o.caller_name ? o.caller_name + ' ' : '') + (o.caller || 'unknown');
    const body = 'via ' + (o.via || '–') + ' · Decline, or answer your phone';
    const actions = [{ action: 'decline', title: 'Decline' }];
    if ((o.targets || []).includes('browser')) actions.unshift({ action: 'accept', title: 'Accept' });
    if (swReg) {
      swReg.showNotification(title, { body, tag: 'offer-' + o.call_id, requireInteraction: true, actions, data: { agent: me, call: o.call_id } })
        .catch(() => plainNotify(o, title, body));
      return;
    }
    plainNotify(o, title, body);
  }

  function plainNotify(o, title, body) {
    try {
      const n = new Notification(title, { body: body + ' (click to open)', tag: 'offer-' + o.call_id, requireInteraction: true });
      n.onclick = () => { window.focus(); n.close(); };
      notes.set(o.call_id, n);
    } catch (e) { /* some browsers allow only service-worker notifications */ }
  }

  async function closeNotification(callID) {
    const n = notes.get(callID);
    if (n) { n.close(); notes.delete(callID); }
    if (swReg) {
      try {
        for (const x of await swReg.getNotifications({ tag: 'offer-' + callID })) x.close();
      } catch (e) { /* gone already */ }
    }
  }

  // ringer plays a ring cadence in the page while a call is offered, so an
  // agent with headphones on and the tab hidden still hears it. Browsers
  // allow sound only after a click on the page.
  const ringer = (function () {
    let ctx = null, timer = null;
    function burst() {
      if (!ctx || ctx.state !== 'running') return;
      const g = ctx.createGain();
      g.gain.value = 0.05;
      g.connect(ctx.destination);
      for (const f of [440, 480]) {
        const o = ctx.createOscillator();
        o.frequency.value = f;
        o.connect(g);
        o.start();
        o.stop(ctx.currentTime + 1.5);
      }
    }
    return {
      unlock() {
        try { ctx = ctx || new AudioContext(); ctx.resume(); } catch (e) { ctx = null; }
      },
      start() { if (!timer && !phone.pc) { burst(); timer = setInterval(burst, 4000); } },
      stop() { clearInterval(timer); timer = null; },
    };
  })();
  document.addEventListener('click', () => ringer.unlock(), { once: true });

  // ---- notes ----

  function setNoteCall(c) {
    noteCall = c;
    $('#note-none').hidden = true;
    $('#note-form').hidden = false;
    $('#note-call').textContent = 'the call from ' + ((c.name ? c.name + ' ' : '') + (c.caller || 'unknown'));
    say('#note-msg', '');
  }

  $('#note-text').addEventListener('input', () => {
    $('#note-count').textContent = [...$('#note-text').value].length + ' / 2000';
  });
  $('#note-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!noteCall) return;
    const text = $('#note-text').value.trim();
    if (!text) { say('#note-msg', 'Write something first.', true); return; }
    try {
      const r = await api('POST', '/api/v1/calls/' + encodeURIComponent(noteCall.id) + '/notes', { text });
      if (!r.ok) { say('#note-msg', errorText(r), true); return; }
      $('#note-text').value = '';
      $('#note-count').textContent = '0 / 2000';
      say('#note-msg', 'Saved: it shows the next time this number calls.');
    } catch (e) {
      say('#note-msg', 'The box cannot be reached: the note was not saved.', true);
    }
  });

  // ---- call me back ----

  $('#callback-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const number = $('#callback-number').value.trim();
    const phone = $('#callback-phone').value.trim();
    if (!number) { say('#callback-msg', 'Give the number to call.', true); return; }
    const btn = $('#callback-form button');
    btn.disabled = true;
    try {
      const r = await api('POST', agentPath('/callback'), phone ? { number, phone } : { number });
      if (!r.ok) { say('#callback-msg', errorText(r), true); return; }
      say('#callback-msg', 'Ringing ' + r.data.phone + ': answer it, then ' + r.data.number + ' is called.');
    } catch (e) {
      say('#callback-msg', 'The box cannot be reached: nothing was called.', true);
    } finally {
      btn.disabled = false;
    }
  });

  // ---- the browser phone ----

  const phone = {
    ws: null,
    // The box's incoming signals by the offer's call id (the id of
    // agent.offered and of Decline); each signal's call_id names the
    // browser's leg, which accept, hangup and the box's replies use.
    incoming: new Map(),
    pc: null, stream: null, call: null, connectedAt: 0, meterTimer: null, audioCtx: null,
    muted: false, held: false, transferred: false,

    connect() {
      const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/agent/ws';
      let ws;
      try { ws = new WebSocket(url); } catch (e) { return this.retry(); }
      this.ws = ws;
      let opened = false;
      ws.onopen = () => { opened = true; this.backoff = 0; $('#st-phone').textContent = 'on: this browser can take calls'; };
      ws.onmessage = (ev) => {
        let sig;
        try { sig = JSON.parse(ev.data); } catch (e) { return; }
        this.onSignal(sig);
      };
      ws.onclose = () => {
        this.ws = null;
        $('#st-phone').textContent = opened ? 'reconnecting…' : 'off';
        this.incoming.clear();
        updateAccept();
        this.retry();
      };
    },
    backoff: 0,
    retry() {
      // A box without the browser phone refuses the socket: retry slowly.
      this.backoff = Math.min(60000, (this.backoff || 1500) * 2);
      setTimeout(() => this.connect(), this.backoff);
    },
    send(sig) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(sig)); return true; }
      return false;
    },

    onSignal(sig) {
      switch (sig.type) {
        case 'incoming': {
          const id = sig.offer || sig.call_id;
          this.incoming.set(id, sig);
          if (!offers.has(id)) {
            // The offer event may come a moment later; show the call now.
            showOffer({ call_id: id, caller: sig.caller, caller_name: sig.caller_name, via: sig.via, since: new Date().toISOString(), targets: ['browser'] });
          }
          updateAccept();
          break;
        }
        case 'answer':
          if (this.pc && sig.call_id === this.call) {
            this.pc.setRemoteDescription({ type: 'answer', sdp: sig.sdp }).catch((e) => this.fail('The call could not be set up: ' + e.message));
          }
          break;
        case 'cancel':
          this.forget(sig.call_id);
          if (sig.call_id === this.call) this.end(sig.reason === 'answered_elsewhere' ? 'Answered on another device.' : 'The call stopped ringing.');
          updateAccept();
          break;
        case 'hangup':
          this.forget(sig.call_id);
          if (sig.call_id === this.call) this.end(this.transferred ? 'Call transferred.' : 'The call ended.');
          break;
        case 'transfer':
          // The flow's progress of this page's blind transfer: 100 under
          // way, 200 done (the box then ends this call), else refused.
          if (sig.call_id !== this.call) break;
          if (sig.code === 100) say('#phone-xfer-msg', 'Transferring…');
          else if (sig.code === 200) { this.transferred = true; say('#phone-xfer-msg', 'Transferred.'); }
          else say('#phone-xfer-msg', 'Not transferred: ' + (sig.reason || sig.code) + '. You still have the call.', true);
          break;
        case 'error':
          console.warn('ringbox phone:', sig.reason);
          break;
      }
    },

    // forget drops the incoming signal of the browser's leg legID.
    forget(legID) {
      for (const [id, s] of this.incoming) if (s.call_id === legID) this.incoming.delete(id);
    },

    // accept takes the offered call offerID in this browser.
    async accept(offerID) {
      const inc = offerID && this.incoming.get(offerID);
      if (!inc || this.pc) return;
      const callID = inc.call_id;
      ringer.stop();
      $('#offer-accept').hidden = true;
      say('#offer-msg', 'Connecting…');
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }, video: false });
      } catch (e) {
        say('#offer-msg', 'The microphone is not available: ' + (e.name === 'NotAllowedError' ? 'allow it for this site.' : e.message), true);
        updateAccept();
        return;
      }
      // The box is on the office network: host candidates reach it.
      const pc = new RTCPeerConnection({ iceServers: [] });
      this.pc = pc;
      this.call = callID;
      for (const t of this.stream.getAudioTracks()) pc.addTrack(t, this.stream);
      const tr = pc.getTransceivers()[0];
      if (tr && tr.setCodecPreferences && window.RTCRtpSender && RTCRtpSender.getCapabilities) {
        // G.711 first: the box relays it to phones and trunks untouched.
        const caps = RTCRtpSender.getCapabilities('audio').codecs;
        const pref = caps.filter((c) => /PCMU|PCMA/i.test(c.mimeType)).concat(caps.filter((c) => /telephone-event/i.test(c.mimeType)));
        if (pref.length) { try { tr.setCodecPreferences(pref); } catch (e) { /* keep the browser's order */ } }
      }
      pc.ontrack = (ev) => { $('#phone-audio').srcObject = ev.streams[0] || new MediaStream([ev.track]); };
      pc.onconnectionstatechange = () => {
        $('#phone-state').textContent = pc.connectionState;
        if (pc.connectionState === 'connected' && !this.connectedAt) this.connectedAt = Date.now();
        if (pc.connectionState === 'failed') this.fail('The audio connection failed.');
      };
      try {
        await pc.setLocalDescription(await pc.createOffer());
        await iceGathered(pc, 5000);
      } catch (e) {
        this.fail('The call could not be set up: ' + e.message);
        return;
      }
      if (!this.send({ type: 'accept', call_id: callID, sdp: pc.localDescription.sdp })) {
        this.fail('The box cannot be reached.');
        return;
      }
      const o = offers.get(offerID) || inc;
      $('#phone-who').textContent = (o.caller_name ? o.caller_name + ' ' : '') + (o.caller || '');
      $('#phone').hidden = false;
      this.meter();
      say('#offer-msg', '');
    },

    meter() {
      try {
        this.audioCtx = new AudioContext();
        const an = this.audioCtx.createAnalyser();
        an.fftSize = 1024;
        this.audioCtx.createMediaStreamSource(this.stream).connect(an);
        const buf = new Float32Array(an.fftSize);
        // An interval, not requestAnimationFrame: that stops in a hidden tab.
        this.meterTimer = setInterval(() => {
          an.getFloatTimeDomainData(buf);
          let sum = 0;
          for (const v of buf) sum += v * v;
          $('#mic-level').value = this.muted ? 0 : Math.min(1, Math.sqrt(sum / buf.length) * 4);
        }, 100);
      } catch (e) { /* no meter */ }
    },

    fail(msg) {
      if (this.call) this.send({ type: 'hangup', call_id: this.call });
      this.end(msg);
    },

    end(msg) {
      clearInterval(this.meterTimer);
      this.meterTimer = null;
      if (this.audioCtx) { this.audioCtx.close(); this.audioCtx = null; }
      if (this.pc) { this.pc.close(); this.pc = null; }
      if (this.stream) { for (const t of this.stream.getTracks()) t.stop(); this.stream = null; }
      $('#phone-audio').srcObject = null;
      $('#phone').hidden = true;
      if (this.call) this.forget(this.call);
      this.call = null;
      this.connectedAt = 0;
      this.muted = this.held = this.transferred = false;
      say('#phone-xfer-msg', '');
      $('#phone-xfer-to').value = '';
      $('#phone-mute').setAttribute('aria-pressed', 'false');
      $('#phone-hold').setAttribute('aria-pressed', 'false');
      $('#mic-level').value = 0;
      if (msg) say('#offer-msg', msg);
      updateAccept();
      refreshAgent();
    },

    setMuted(on) {
      this.muted = on;
      if (this.stream) for (const t of this.stream.getAudioTracks()) t.enabled = !on && !this.held;
      this.send({ type: on ? 'mute' : 'unmute', call_id: this.call });
      $('#phone-mute').setAttribute('aria-pressed', String(on));
      $('#phone-mute').textContent = on ? 'Unmute' : 'Mute';
    },
    setHeld(on) {
      this.held = on;
      if (this.stream) for (const t of this.stream.getAudioTracks()) t.enabled = !on && !this.muted;
      $('#phone-audio').muted = on;
      this.send({ type: on ? 'hold' : 'unhold', call_id: this.call });
      $('#phone-hold').setAttribute('aria-pressed', String(on));
      $('#phone-hold').textContent = on ? 'Resume' : 'Hold';
    },
  };

  function iceGathered(pc, ms) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); pc.removeEventListener('icegatheringstatechange', check); resolve(); };
      const check = () => { if (pc.iceGatheringState === 'complete') done(); };
      // Gathering can hang on an interface that never answers: what was
      // gathered by then is enough on a LAN.
      const t = setTimeout(done, ms);
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  $('#phone-mute').addEventListener('click', () => phone.setMuted(!phone.muted));
  $('#phone-hold').addEventListener('click', () => phone.setHeld(!phone.held));
  $('#phone-hangup').addEventListener('click', () => {
    phone.send({ type: 'hangup', call_id: phone.call });
    phone.end('You hung up.');
  });
  $('#phone-xfer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const to = $('#phone-xfer-to').value.trim();
    if (!phone.call || !to) return;
    if (!/^[0-9A-Za-z*#+:._-]{1,64}$/.test(to)) { say('#phone-xfer-msg', 'Type a number or a destination such as queue:service.', true); return; }
    say('#phone-xfer-msg', phone.send({ type: 'transfer', call_id: phone.call, to }) ? 'Transferring…' : 'Not connected to the box.', !phone.ws);
  });
  $('#keypad').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-digit]');
    if (b && phone.call) phone.send({ type: 'dtmf', call_id: phone.call, digit: b.dataset.digit });
  });
  window.addEventListener('beforeunload', (ev) => {
    if (!phone.pc) return;
    ev.preventDefault();
    ev.returnValue = ''; // the browser asks "leave the page?": the call would end
  });

  // ---- the event stream ----

  function setStreamState(s, text) {
    const e = $('#stream-state');
    e.dataset.state = s;
    e.textContent = text;
  }

  // streamEvents reads /api/v1/events (as app.js does: EventSource only
  // delivers events to listeners named in advance).
  async function streamEvents(onEvent) {
    for (;;) {
      try {
        const res = await fetch('/api/v1/events', { headers: { Accept: 'text/event-stream' }, cache: 'no-store' });
        if (res.status === 401) { location.assign('/login?next=/agent'); return; }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        setStreamState('live', 'live');
        // Whatever changed while the stream was down.
        refreshAgent(); refreshQueues(); refreshToday(); loadOffers();
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
            const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
            if (!data.length) continue;
            try { onEvent(JSON.parse(data.join('\n'))); } catch (e) { /* not an event */ }
          }
        }
      } catch (e) {
        // reconnect below
      }
      setStreamState('reconnecting', 'reconnecting…');
      await sleep(3000);
    }
  }

  function onEvent(ev) {
    const d = ev.data || {};
    switch (ev.type) {
      case 'agent.status':
      case 'agent.state':
      case 'agent.queue':
      case 'agent.max_no_answer':
        if (d.agent !== me) return;
        refreshAgent();
        if (ev.type === 'agent.state') refreshToday();
        if (ev.type === 'agent.max_no_answer') say('#status-msg', 'You missed ' + d.missed + ' calls in a row and were set unavailable.', true);
        break;
      case 'queue.caller':
      case 'queue.empty_warning':
        if (!agent || (agent.queues || []).includes(d.queue)) refreshQueues();
        break;
      case 'agent.offered':
        if (d.agent === me) showOffer(d);
        break;
      case 'agent.offer_ended':
        if (d.agent === me) endOffer(d.call_id, d.outcome);
        break;
      case 'config.changed':
        refreshAgent(); refreshQueues();
        break;
    }
  }

  async function loadOffers() {
    const r = await api('GET', agentPath('/offers'));
    if (!r.ok) return;
    const live = new Set((r.data || []).map((o) => o.call_id));
    for (const id of [...offers.keys()]) if (!live.has(id)) endOffer(id, 'missed');
    for (const o of r.data || []) if (!offers.has(o.call_id)) showOffer(o);
  }

  notifyState();
  registerSW();
  refreshAgent().then(refreshQueues);
  refreshToday();
  streamEvents(onEvent);
  phone.connect();
  // A slow safety net besides the events (a wrap-up that ended, a
  // reconnect that lost something).
  setInterval(() => { if (!document.hidden) { refreshAgent(); refreshQueues(); } }, 30000);
})();
