// Ringbox agent page's service worker: it exists only so that the
// incoming-call notification can carry Accept and Decline buttons (only a
// service worker's notifications have buttons). A press is handed to the
// agent's open page, which does the work.
'use strict';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (ev) => ev.waitUntil(self.clients.claim()));

self.addEventListener('notificationclick', (ev) => {
  const data = ev.notification.data || {};
  ev.notification.close();
  ev.waitUntil((async () => {
    const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const desk = pages.find((c) => new URL(c.url).pathname === '/agent');
    if (!desk) {
      await self.clients.openWindow('/agent');
      return;
    }
    if (ev.action) desk.postMessage({ action: ev.action, agent: data.agent, call: data.call });
    try { await desk.focus(); } catch (e) { /* focus needs a user gesture on some systems */ }
  })());
});
