// Runs app.js's JSON viewer under Node with just enough of a DOM, for
// viewer_test.go: reads {tz, cases: [json values]} on stdin and prints,
// for each case, what a person would read (table headers and cells, or
// the text shown).
'use strict';
function node(tag) {
  const n = {
    tag, children: [], attrs: {}, _text: '',
    append(...cs) { this.children.push(...cs); },
    replaceChildren(...cs) { this.children = cs; },
    setAttribute(k, v) { this.attrs[k] = String(v); },
    get textContent() { return this._text + this.children.map((c) => c.textContent).join(''); },
    set textContent(t) { this._text = String(t); this.children = []; },
    get tHead() { return this.children.find((c) => c.tag === 'thead'); },
    get tBodies() { return this.children.filter((c) => c.tag === 'tbody'); },
  };
  return n;
}
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const main = { dataset: { tz: input.tz } };
global.document = {
  body: { dataset: {} },
  createElement: node,
  querySelector: (sel) => (sel === '#main' ? main : null),
  querySelectorAll: () => [],
};
const { renderJSON } = require(process.argv[2]).viewer;
function read(n) {
  if (n.tag === 'table') {
    const rows = (t) => t.children.map((tr) => tr.children.map((c) => c.textContent));
    return { headers: rows(n.tHead)[0], rows: rows(n.tBodies[0]) };
  }
  if (n.tag === 'dl') {
    const out = {};
    for (let i = 0; i + 1 < n.children.length; i += 2) out[n.children[i].textContent] = n.children[i + 1].textContent;
    return { facts: out };
  }
  return { text: n.textContent };
}
process.stdout.write(JSON.stringify(input.cases.map((c) => read(renderJSON(c)))));
