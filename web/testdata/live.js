// Runs app.js's list loader under Node with a fake fetch, for
// viewer_test.go: prints how many requests reached the box and whether
// the list was redrawn, step by step.
'use strict';
function node(tag) {
  return {
    tag, children: [], attrs: {}, _text: '',
    append(...cs) { this.children.push(...cs); },
    replaceChildren(...cs) { this.children = cs; },
    setAttribute(k, v) { this.attrs[k] = String(v); },
    get textContent() { return this._text + this.children.map((c) => c.textContent).join(''); },
    set textContent(t) { this._text = String(t); this.children = []; },
    get tHead() { return this.children.find((c) => c.tag === 'thead'); },
    get tBodies() { return this.children.filter((c) => c.tag === 'tbody'); },
  };
}
global.document = { body: { dataset: {} }, createElement: node, querySelector: () => null, querySelectorAll: () => [] };
const { newSource, loadSource, SECTION_EVENTS } = require(process.argv[2]).viewer;

let requests = 0;
let answer = [];
let type = 'application/json; charset=utf-8';
const waiting = [];
global.fetch = () => {
  requests++;
  const t = type, a = answer;
  return new Promise((resolve) => waiting.push(() => resolve({
    status: 200, ok: true, headers: { get: () => t }, json: async () => { if (!t.startsWith('application/json')) throw new Error('not JSON'); return a; },
  })));
};
const answerAll = async () => { while (waiting.length) waiting.shift()(); await new Promise((r) => setTimeout(r, 10)); };

(async () => {
  const status = node('p'), box = node('div');
  const sec = { dataset: { source: '/api/v1/registrations' }, querySelector: (sel) => (sel === '.status' ? status : box) };
  const src = newSource(sec);
  const steps = [];
  answer = [{ extension: '101' }];
  loadSource(src); loadSource(src); loadSource(src); // an event burst
  await answerAll();
  steps.push({ requests, shows: box.textContent });
  const drawn = box.children[0];
  loadSource(src); await answerAll(); // same answer
  steps.push({ requests, redrawn: box.children[0] !== drawn });
  answer = [{ extension: '101' }, { extension: '102' }];
  loadSource(src); await answerAll();
  steps.push({ requests, redrawn: box.children[0] !== drawn, shows: box.textContent });
  // A route that answers a file: a link, and no second request.
  type = 'application/gzip';
  const fileBox = node('div');
  const file = newSource({ dataset: { source: '/api/v1/backup' }, querySelector: (sel) => (sel === '.status' ? node('p') : fileBox) });
  const before = requests;
  loadSource(file); await answerAll();
  loadSource(file); await answerAll();
  steps.push({ requests: requests - before, shows: fileBox.textContent, link: fileBox.children[0] && fileBox.children[0].attrs.href });
  process.stdout.write(JSON.stringify({ steps, events: SECTION_EVENTS }));
})();
