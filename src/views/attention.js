// The attention view: a head view (the prompt's tokens in two columns, a line from
// each position to every earlier one it takes from, weighted by the attention weight;
// hover a token to see only its lines; block and heads picked above, each head its
// own colour) and a model view (every block x head as a small picture; click one to
// enlarge it and show it in the head view). Weights arrive as one byte each (0..255),
// lower triangles only, in block, head, query, key order.
var T = data.tokens.length, L = data.n_layer, H = data.n_head, TRI = T * (T + 1) / 2;
var raw = atob(data.weights), W = new Uint8Array(raw.length);
for (var n = 0; n < raw.length; n++) W[n] = raw.charCodeAt(n);
if (W.length !== L * H * TRI) throw new Error('attention data has ' + W.length + ' weights, expected ' + L * H * TRI);
function w(l, h, i, j) { return j > i ? 0 : W[(l * H + h) * TRI + i * (i + 1) / 2 + j] / 255; }

header();
var block = data.block, heads = {}; heads[data.head] = true;
var controls = body.appendChild(el('div', { 'class': 'gx-controls' }));
var lab = controls.appendChild(el('label', {}, 'block '));
var sel = lab.appendChild(el('select', { 'class': 'gx-block' }));
for (var l = 0; l < L; l++) sel.appendChild(el('option', { value: l }, String(l)));
sel.value = block;
sel.addEventListener('change', function () { block = +sel.value; draw(); });
var hb = controls.appendChild(el('span', { 'class': 'gx-heads' }, 'heads: '));
var boxes = [];
for (var h = 0; h < H; h++) (function (h) {
  var lb = hb.appendChild(el('label', { title: 'head ' + h }));
  var cb = lb.appendChild(el('input', { type: 'checkbox', 'class': 'gx-head', 'data-head': h }));
  cb.checked = !!heads[h];
  cb.addEventListener('change', function () { heads[h] = cb.checked; draw(); });
  lb.appendChild(el('span', { 'class': 'gx-swatch', style: 'background:' + colour(h) }));
  lb.appendChild(document.createTextNode(String(h)));
  boxes.push(cb);
})(h);
var allB = controls.appendChild(el('button', { type: 'button' }, 'all heads'));
allB.addEventListener('click', function () { for (var h = 0; h < H; h++) { heads[h] = true; boxes[h].checked = true; } draw(); });
var noneB = controls.appendChild(el('button', { type: 'button' }, 'no heads'));
noneB.addEventListener('click', function () { heads = {}; boxes.forEach(function (b) { b.checked = false; }); draw(); });
body.appendChild(el('div', { 'class': 'gx-help' }, 'Hover a token on the left to see which earlier tokens it takes from (its row of the attention pattern), or one on the right to see who takes from it. Line opacity is the weight.'));

var view = body.appendChild(el('div', { 'class': 'gx-headview' }));
var ROW = 20, X0 = 10, XL = 170, XR = 330, WIDTH = 520;
var svg = view.appendChild(sv('svg', { 'class': 'gx-lines', width: WIDTH, height: T * ROW + 10 }));
var gLines = svg.appendChild(sv('g')), gText = svg.appendChild(sv('g')), gWt = svg.appendChild(sv('g'));
var left = [], right = [], wts = [];
for (var i = 0; i < T; i++) {
  var y = 14 + i * ROW;
  var a = gText.appendChild(sv('text', { x: XL - 6, y: y, 'text-anchor': 'end', 'class': 'gx-q', 'data-pos': i }));
  a.textContent = data.tokens[i];
  var b = gText.appendChild(sv('text', { x: XR + 6, y: y, 'class': 'gx-k', 'data-pos': i }));
  b.textContent = data.tokens[i];
  var c = gWt.appendChild(sv('text', { x: WIDTH - X0, y: y, 'text-anchor': 'end', 'class': 'gx-wt' }));
  left.push(a); right.push(b); wts.push(c);
}
var big = view.appendChild(el('div', { 'class': 'gx-big' }));

var focus = null; // {side: 'q'|'k', pos}
function draw() {
  while (gLines.firstChild) gLines.removeChild(gLines.firstChild);
  for (var h = 0; h < H; h++) {
    if (!heads[h]) continue;
    for (var i = 0; i < T; i++) for (var j = 0; j <= i; j++) {
      var v = w(block, h, i, j);
      if (v < 0.005) continue; // invisible anyway; the hover values below list every weight
      gLines.appendChild(sv('line', {
        x1: XL, y1: 10 + i * ROW, x2: XR, y2: 10 + j * ROW, stroke: colour(h), 'stroke-width': 2.5,
        'stroke-opacity': v.toFixed(3), 'data-q': i, 'data-k': j, 'data-head': h, 'data-w': v.toFixed(4)
      }));
    }
  }
  applyFocus();
  drawGrid();
}
function applyFocus() {
  var lines = gLines.childNodes;
  for (var n = 0; n < lines.length; n++) {
    var ln = lines[n], show = !focus || +ln.getAttribute('data-' + focus.side) === focus.pos;
    ln.style.display = show ? '' : 'none';
  }
  for (var i = 0; i < T; i++) {
    left[i].setAttribute('class', 'gx-q' + (focus && focus.side === 'q' && focus.pos === i ? ' gx-hot' : ''));
    right[i].setAttribute('class', 'gx-k' + (focus && focus.side === 'k' && focus.pos === i ? ' gx-hot' : ''));
    var txt = '';
    var hs = Object.keys(heads).filter(function (h) { return heads[h]; });
    if (focus && focus.side === 'q' && hs.length === 1 && i <= focus.pos) txt = pct(w(block, +hs[0], focus.pos, i));
    wts[i].textContent = txt;
  }
}
function hover(side, list) {
  list.forEach(function (t, i) {
    t.addEventListener('mouseenter', function () { focus = { side: side, pos: i }; applyFocus(); });
    t.addEventListener('mouseleave', function () { focus = null; applyFocus(); });
  });
}
hover('q', left); hover('k', right);

// The model view: every block x head.
body.appendChild(el('h3', { style: 'margin-top:14px' }, 'Every block and head'));
body.appendChild(el('div', { 'class': 'gx-help' }, 'Rows are blocks, columns heads; each picture is a pattern (row = position, column = earlier position, darker = more weight). Click one to enlarge it and show it above.'));
var S = Math.max(2, Math.floor(64 / T)) * T;
var grid = body.appendChild(el('div', { 'class': 'gx-grid', style: 'grid-template-columns: 40px repeat(' + H + ', ' + (S + 2) + 'px)' }));
grid.appendChild(el('div'));
for (var h2 = 0; h2 < H; h2++) grid.appendChild(el('div', { 'class': 'gx-lab' }, 'head ' + h2));
var cells = [];
function paint(cv, l, h, scale) {
  var ctx = cv.getContext('2d');
  var img = ctx.createImageData(T, T);
  for (var i = 0; i < T; i++) for (var j = 0; j < T; j++) {
    var v = w(l, h, i, j), o = 4 * (i * T + j);
    img.data[o] = 255 - v * 247; img.data[o + 1] = 255 - v * 207; img.data[o + 2] = 255 - v * 148; img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  cv.style.width = cv.style.height = (T * scale) + 'px';
}
for (var l2 = 0; l2 < L; l2++) {
  grid.appendChild(el('div', { 'class': 'gx-lab' }, 'block ' + l2));
  for (var h3 = 0; h3 < H; h3++) (function (l, h) {
    var cv = grid.appendChild(el('canvas', { width: T, height: T, 'class': 'gx-cell', 'data-block': l, 'data-head': h, title: 'block ' + l + ', head ' + h }));
    paint(cv, l, h, S / T);
    cv.addEventListener('click', function () { pick(l, h); });
    cells.push(cv);
  })(l2, h3);
}
function drawGrid() {
  var hs = Object.keys(heads).filter(function (h) { return heads[h]; }).map(Number);
  cells.forEach(function (cv) {
    var on = +cv.getAttribute('data-block') === block && hs.indexOf(+cv.getAttribute('data-head')) >= 0;
    cv.classList.toggle('gx-picked', on);
  });
}
function pick(l, h) {
  block = l; sel.value = l; heads = {}; heads[h] = true;
  boxes.forEach(function (b, k) { b.checked = k === h; });
  while (big.firstChild) big.removeChild(big.firstChild);
  big.appendChild(el('div', { 'class': 'gx-sub' }, 'block ' + l + ', head ' + h + ' enlarged'));
  var cv = big.appendChild(el('canvas', { width: T, height: T, 'class': 'gx-enlarged', 'data-block': l, 'data-head': h }));
  paint(cv, l, h, Math.max(4, Math.floor(360 / T)));
  draw();
}
draw();
