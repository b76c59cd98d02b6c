// The logit lens: the block x position grid of top guesses (the residual stream after
// each block read through the final norm and the unembedding), coloured by the top
// guess's probability; hover a cell for its top-k with probabilities and the rank, at
// that block, of the model's final answer at that position.
header();
var rows = data.rows, T = data.tokens.length;
body.appendChild(el('div', { 'class': 'gx-help' }, 'Columns are the prompt\'s positions (the guess is for the token after it); rows go from the embedding down to the last block, whose guess is the model\'s answer. Hover a cell.'));
var wrap = body.appendChild(el('div', { 'class': 'gx-wrap' }));
var sc = wrap.appendChild(el('div', { 'class': 'gx-scroll' }));
var tab = sc.appendChild(el('table', { 'class': 'gx-grid' }));
var hd = tab.appendChild(el('tr'));
hd.appendChild(el('th', {}, ''));
data.tokens.forEach(function (t, i) { hd.appendChild(el('th', { title: 'position ' + i }, t)); });
var detail = wrap.appendChild(el('div', { 'class': 'gx-detail' }));
detail.appendChild(el('div', { 'class': 'gx-sub' }, 'Hover a cell to see its top ' + data.k + '.'));
var on = null;
rows.forEach(function (name, r) {
  var tr = tab.appendChild(el('tr'));
  tr.appendChild(el('th', {}, name));
  data.cells[r].forEach(function (c, i) {
    var p = c.p[0];
    var td = tr.appendChild(el('td', { 'class': 'gx-cell', 'data-row': r, 'data-pos': i, title: '' }, data.vocab[c.t[0]]));
    td.style.background = blues(p);
    td.style.color = p > 0.55 ? '#fff' : '#111';
    td.addEventListener('mouseenter', function () { show(r, i, td); });
  });
});
function show(r, i, td) {
  if (on) on.classList.remove('gx-on');
  on = td; td.classList.add('gx-on');
  var c = data.cells[r][i], fin = data.final_answer[i];
  while (detail.firstChild) detail.removeChild(detail.firstChild);
  detail.setAttribute('data-row', r); detail.setAttribute('data-pos', i);
  detail.appendChild(el('div', {}, rows[r] + ', position ' + i + ' (after ' + data.tokens[i] + ')'));
  var t = detail.appendChild(el('table', { 'class': 'gx-table' }));
  c.t.forEach(function (tok, k) {
    var tr = t.appendChild(el('tr', { 'class': 'gx-row', 'data-token': data.vocab[tok], 'data-p': String(c.p[k]) }));
    tr.appendChild(el('td', { 'class': 'gx-num' }, String(k + 1)));
    tr.appendChild(el('td', { 'class': 'gx-tok' }, data.vocab[tok]));
    tr.appendChild(el('td', { 'class': 'gx-num' }, pct(c.p[k])));
  });
  detail.appendChild(el('div', { 'class': 'gx-rank', 'data-rank': c.rank, style: 'margin-top:6px' },
    'final answer ' + data.vocab[fin] + ': rank ' + c.rank + ' here'));
}
