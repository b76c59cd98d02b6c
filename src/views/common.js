// Shared by every view (wrapped with the view's own script in one function, so
// nothing is global): the embedded data, element building, colours, numbers.
var data = JSON.parse(root.querySelector('script.gx-data').textContent);
var body = root.querySelector('.gx-body');
function el(tag, attrs, text) {
  var e = document.createElement(tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
var SVGNS = 'http://www.w3.org/2000/svg';
function sv(tag, attrs) {
  var e = document.createElementNS(SVGNS, tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  return e;
}
// Ten distinguishable colours (heads, groups), then repeating.
var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
function colour(i) { return PALETTE[i % PALETTE.length]; }
// White to dark blue for a value in [0, 1].
function blues(v) {
  v = Math.max(0, Math.min(1, v));
  var r = Math.round(255 - v * (255 - 8)), g = Math.round(255 - v * (255 - 48)), b = Math.round(255 - v * (255 - 107));
  return 'rgb(' + r + ',' + g + ',' + b + ')';
}
function pct(p) { return p >= 0.1 ? (100 * p).toFixed(1) + '%' : p >= 0.001 ? (100 * p).toFixed(2) + '%' : (100 * p).toExponential(1) + '%'; }
function header() {
  body.appendChild(el('h3', {}, data.title));
  if (data.subtitle) body.appendChild(el('div', { 'class': 'gx-sub' }, data.subtitle));
}
