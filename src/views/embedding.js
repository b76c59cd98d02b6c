// The embedding map: words placed by their embedding vectors, flattened to two
// dimensions by PCA. Hover a point for the word and its nearest words in the full
// space; type in the search box to pick words out (Enter zooms to them); the mouse
// wheel zooms, dragging pans, "reset" shows everything.
header();
var P = data.points, WD = 900, HT = 620, PAD = 30;
var controls = body.appendChild(el('div', { 'class': 'gx-controls' }));
var search = controls.appendChild(el('input', { type: 'search', 'class': 'gx-search', placeholder: 'search a word', size: 22 }));
var count = controls.appendChild(el('span', { 'class': 'gx-count gx-sub' }));
var zin = controls.appendChild(el('button', { type: 'button' }, 'zoom in'));
var zout = controls.appendChild(el('button', { type: 'button' }, 'zoom out'));
var reset = controls.appendChild(el('button', { type: 'button', 'class': 'gx-reset' }, 'reset'));
var legend = body.appendChild(el('div', { 'class': 'gx-legend gx-sub' }));
data.groups.forEach(function (g, k) {
  var s = legend.appendChild(el('span'));
  s.appendChild(el('span', { style: 'color:' + colour(k) }, '● '));
  s.appendChild(document.createTextNode(g));
});
var wrap = body.appendChild(el('div', { 'class': 'gx-wrap' }));
var svg = wrap.appendChild(sv('svg', { 'class': 'gx-map', width: WD, height: HT }));
var detail = wrap.appendChild(el('div', { 'class': 'gx-detail' }, 'Hover a point.'));
var xs = P.map(function (p) { return p[2]; }), ys = P.map(function (p) { return p[3]; });
var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
var sx = (WD - 2 * PAD) / ((x1 - x0) || 1), sy = (HT - 2 * PAD) / ((y1 - y0) || 1);
function X(x) { return PAD + (x - x0) * sx; }
function Y(y) { return HT - PAD - (y - y0) * sy; }
var full = { x: 0, y: 0, w: WD, h: HT }, vb = { x: 0, y: 0, w: WD, h: HT };
var gAll = svg.appendChild(sv('g'));
svg.appendChild(sv('text', { x: WD / 2, y: HT - 6, 'text-anchor': 'middle', fill: '#666' })).textContent = data.x_label;
var ylab = svg.appendChild(sv('text', { x: 12, y: HT / 2, fill: '#666', transform: 'rotate(-90 12 ' + HT / 2 + ')', 'text-anchor': 'middle' }));
ylab.textContent = data.y_label;
var nodes = P.map(function (p, i) {
  var g = gAll.appendChild(sv('g', { 'class': 'gx-pt', 'data-word': p[0], 'data-i': i }));
  var c = g.appendChild(sv('circle', { cx: X(p[2]), cy: Y(p[3]), r: 4, fill: colour(p[1]) }));
  var t = g.appendChild(sv('text', { x: X(p[2]) + 6, y: Y(p[3]) + 4, fill: '#333' }));
  t.textContent = p[0] + (p[4] ? '*' : '');
  c.addEventListener('mouseenter', function () { info(i); });
  return g;
});
function info(i) {
  var p = P[i];
  while (detail.firstChild) detail.removeChild(detail.firstChild);
  detail.setAttribute('data-word', p[0]);
  detail.appendChild(el('div', { style: 'font-weight:bold' }, p[0]));
  detail.appendChild(el('div', { 'class': 'gx-sub' }, data.groups[p[1]] + (p[4] ? ' · several tokens: their mean' : '')));
  detail.appendChild(el('div', {}, 'nearest in the full space (cosine):'));
  var ul = detail.appendChild(el('ol', { 'class': 'gx-near' }));
  p[5].forEach(function (n) { ul.appendChild(el('li', { 'data-word': P[n[0]][0] }, P[n[0]][0] + '  ' + n[1].toFixed(3))); });
}
function setVB() {
  svg.setAttribute('viewBox', vb.x + ' ' + vb.y + ' ' + vb.w + ' ' + vb.h);
  var k = WD / vb.w; // keep labels and points the same size on screen
  nodes.forEach(function (g, i) {
    var c = g.firstChild, t = g.lastChild;
    c.setAttribute('r', 4 / k);
    t.setAttribute('font-size', 11 / k);
    t.setAttribute('x', X(P[i][2]) + 6 / k);
    t.setAttribute('y', Y(P[i][3]) + 4 / k);
  });
}
function zoom(f, cx, cy) {
  var nw = Math.min(full.w * 4, Math.max(full.w / 50, vb.w / f)), nh = nw * HT / WD;
  vb.x = cx - (cx - vb.x) * nw / vb.w; vb.y = cy - (cy - vb.y) * nh / vb.h; vb.w = nw; vb.h = nh;
  setVB();
}
svg.addEventListener('wheel', function (e) {
  e.preventDefault();
  var r = svg.getBoundingClientRect();
  zoom(e.deltaY < 0 ? 1.25 : 0.8, vb.x + (e.clientX - r.left) / r.width * vb.w, vb.y + (e.clientY - r.top) / r.height * vb.h);
}, { passive: false });
var drag = null;
svg.addEventListener('pointerdown', function (e) { drag = { x: e.clientX, y: e.clientY, vx: vb.x, vy: vb.y }; });
window.addEventListener('pointerup', function () { drag = null; });
svg.addEventListener('pointermove', function (e) {
  if (!drag) return;
  var r = svg.getBoundingClientRect();
  vb.x = drag.vx - (e.clientX - drag.x) / r.width * vb.w; vb.y = drag.vy - (e.clientY - drag.y) / r.height * vb.h;
  setVB();
});
zin.addEventListener('click', function () { zoom(1.5, vb.x + vb.w / 2, vb.y + vb.h / 2); });
zout.addEventListener('click', function () { zoom(1 / 1.5, vb.x + vb.w / 2, vb.y + vb.h / 2); });
reset.addEventListener('click', function () { vb = { x: 0, y: 0, w: WD, h: HT }; setVB(); });
function matches() {
  var q = search.value.trim().toLowerCase();
  var hits = [];
  nodes.forEach(function (g, i) {
    var hit = q !== '' && P[i][0].toLowerCase().indexOf(q) >= 0;
    if (hit) hits.push(i);
    g.classList.toggle('gx-hit', hit);
    g.classList.toggle('gx-dim', q !== '' && !hit);
  });
  count.textContent = q === '' ? '' : hits.length + (hits.length === 1 ? ' match' : ' matches');
  return hits;
}
search.addEventListener('input', matches);
search.addEventListener('keydown', function (e) {
  if (e.key !== 'Enter') return;
  var hits = matches();
  if (!hits.length) return;
  var hx = hits.map(function (i) { return X(P[i][2]); }), hy = hits.map(function (i) { return Y(P[i][3]); });
  var a = Math.min.apply(null, hx) - 60, b = Math.max.apply(null, hx) + 60, c = Math.min.apply(null, hy) - 40, d = Math.max.apply(null, hy) + 40;
  var w = Math.max(b - a, (d - c) * WD / HT, full.w / 50);
  vb = { x: (a + b) / 2 - w / 2, y: (c + d) / 2 - w * HT / WD / 2, w: w, h: w * HT / WD };
  setVB();
  info(hits[0]);
});
setVB();
