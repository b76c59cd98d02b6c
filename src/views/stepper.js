// The generation stepper: one generated text per seed, side by side; click a token to
// see the top-k table the model produced at that step (the chosen token marked). The
// temperature slider re-weights the stored logits live: at temperature T the
// probability of token i is exp(l_i / T - log Z(T)), where log Z(T), the log of the
// sum over the whole vocabulary, was computed in Rust from all the logits for each
// temperature the slider offers.
header();
var temps = data.temperatures;
var controls = body.appendChild(el('div', { 'class': 'gx-controls' }));
var lab = controls.appendChild(el('label', {}, 'temperature '));
var slider = lab.appendChild(el('input', { type: 'range', 'class': 'gx-temp', min: 0, max: temps.length - 1, step: 1 }));
var tshow = controls.appendChild(el('span', { 'class': 'gx-tval gx-tok' }));
var t0 = 0;
temps.forEach(function (t, i) { if (Math.abs(t - data.temperature) < Math.abs(temps[t0] - data.temperature)) t0 = i; });
slider.value = t0;
body.appendChild(el('div', { 'class': 'gx-help' }, 'The texts were sampled at temperature ' + data.temperature +
  ' with the seeds shown. Click a token to see what the model offered at that step; move the slider to see how another temperature would have re-weighted the same logits (the text itself stays).'));
var runs = body.appendChild(el('div', { 'class': 'gx-runs' }));
var state = [];
data.runs.forEach(function (run, r) {
  var box = runs.appendChild(el('div', { 'class': 'gx-run', 'data-seed': run.seed }));
  box.appendChild(el('div', { 'class': 'gx-sub' }, 'seed ' + run.seed));
  var text = box.appendChild(el('div', { 'class': 'gx-text' }));
  text.appendChild(el('span', { 'class': 'gx-prompt' }, data.prompt));
  var spans = run.steps.map(function (s, k) {
    var sp = text.appendChild(el('span', { 'class': 'gx-step', 'data-step': k, title: 'step ' + (k + 1) }, data.vocab[s.chosen]));
    sp.addEventListener('click', function () { state[r].step = k; render(r); });
    return sp;
  });
  var tab = box.appendChild(el('table', { 'class': 'gx-table gx-topk' }));
  state.push({ step: 0, spans: spans, table: tab, run: run });
});
function prob(logit, s, ti) { return Math.exp(logit / temps[ti] - s.log_z[ti]); }
function render(r) {
  var st = state[r], s = st.run.steps[st.step], ti = +slider.value, tab = st.table;
  st.spans.forEach(function (sp, k) { sp.classList.toggle('gx-on', k === st.step); });
  while (tab.firstChild) tab.removeChild(tab.firstChild);
  tab.appendChild(el('caption', { style: 'text-align:left;color:#555;font-size:12.5px' },
    'step ' + (st.step + 1) + ': the top ' + s.top.length + ' at temperature ' + temps[ti].toFixed(2)));
  var hd = tab.appendChild(el('tr'));
  ['#', 'token', 'probability', ''].forEach(function (x) { hd.appendChild(el('th', {}, x)); });
  var sum = 0, seen = false;
  s.top.forEach(function (e, k) {
    var p = prob(e[1], s, ti); sum += p;
    var chosen = e[0] === s.chosen; seen = seen || chosen;
    var tr = tab.appendChild(el('tr', { 'class': 'gx-row' + (chosen ? ' gx-chosen' : ''), 'data-rank': k + 1, 'data-token': data.labels[e[0]], 'data-p': String(p) }));
    tr.appendChild(el('td', { 'class': 'gx-num' }, String(k + 1)));
    tr.appendChild(el('td', { 'class': 'gx-tok' }, data.labels[e[0]] + (chosen ? '  ◀ chosen' : '')));
    tr.appendChild(el('td', { 'class': 'gx-num' }, pct(p)));
    var bar = tr.appendChild(el('td')).appendChild(el('span', { 'class': 'gx-bar' }));
    bar.style.width = Math.round(120 * p) + 'px';
  });
  if (!seen) {
    var p = prob(s.chosen_logit, s, ti); sum += p;
    var tr = tab.appendChild(el('tr', { 'class': 'gx-row gx-chosen', 'data-rank': s.chosen_rank, 'data-token': data.labels[s.chosen], 'data-p': String(p) }));
    tr.appendChild(el('td', { 'class': 'gx-num' }, String(s.chosen_rank)));
    tr.appendChild(el('td', { 'class': 'gx-tok' }, data.labels[s.chosen] + '  ◀ chosen'));
    tr.appendChild(el('td', { 'class': 'gx-num' }, pct(p)));
    tr.appendChild(el('td'));
  }
  var rest = tab.appendChild(el('tr', { 'class': 'gx-rest' }));
  rest.appendChild(el('td'));
  rest.appendChild(el('td', { style: 'color:#777' }, 'all other tokens'));
  rest.appendChild(el('td', { 'class': 'gx-num', style: 'color:#777' }, pct(Math.max(0, 1 - sum))));
  rest.appendChild(el('td'));
}
function renderAll() {
  tshow.textContent = 'T = ' + temps[+slider.value].toFixed(2);
  for (var r = 0; r < state.length; r++) render(r);
}
slider.addEventListener('input', renderAll);
renderAll();
