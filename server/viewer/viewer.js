// viewer.js - the xaid viewer: a small client of xaid's public HTTP API, written to be read
// as an example by developers of image viewers. No framework, no build step, no network
// access beyond this server.
//
//   GET  /v1/models                      models: labels, layers, default CAM layer
//   GET  /v1/methods                     methods and their parameters (types, ranges, defaults)
//   POST /v1/models/{model}/explain      multipart: part "image" + part "params" (JSON)
//   POST /v1/models/{model}/report       the same inputs; Accept: text/html gives the report
//
// Every failure shows the server's own error message ({"error": {"code", "message",
// "request_id"}}), never a blank page.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { models: [], methods: [], imageFile: null, reportUrl: null };

// ---- talking to the API ----

class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

// fetch() with the optional bearer token; non-2xx answers become ApiError with the server's
// message.
async function apiFetch(path, init = {}) {
  const headers = new Headers(init.headers || {});
  const token = $('token').value.trim();
  if (token) headers.set('Authorization', 'Bearer ' + token);
  let res;
  try {
    res = await fetch(path, { ...init, headers });
  } catch (e) {
    throw new ApiError(0, 'network', 'The server could not be reached (' + e.message + ').', '');
  }
  if (res.ok) return res;
  let code = 'http_' + res.status, message = res.statusText || 'request failed';
  let requestId = res.headers.get('X-Request-ID') || '';
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
      requestId = body.error.request_id || requestId;
    }
  } catch (e) {
    // not JSON: keep the status text
  }
  throw new ApiError(res.status, code, message, requestId);
}

async function getJson(path) {
  return (await apiFetch(path, { headers: { Accept: 'application/json' } })).json();
}

// ---- messages ----

function showError(err) {
  const box = $('error');
  box.textContent = '';
  const head = document.createElement('strong');
  head.textContent = err instanceof ApiError && err.status
    ? 'The server refused the request: '
    : 'Something went wrong: ';
  box.append(head, document.createTextNode(err.message));
  if (err instanceof ApiError && err.status) {
    const detail = document.createElement('div');
    detail.className = 'help';
    detail.textContent = 'HTTP ' + err.status + ', ' + err.code +
      (err.requestId ? ', request id ' + err.requestId : '');
    box.append(detail);
  }
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

function busy(text) {
  $('busy').textContent = text;
  $('run').disabled = !!text;
  $('report').disabled = !!text;
}

// ---- the form, built from /v1/models and /v1/methods ----

function option(value, text, selected) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  o.selected = !!selected;
  return o;
}

function currentModel() {
  return state.models.find((m) => m.name === $('model').value);
}

function currentMethod() {
  return state.methods.find((m) => m.name === $('method').value);
}

function onModelChange() {
  const m = currentModel();
  if (!m) return;
  $('model-desc').textContent = m.description || '';
  const target = $('target');
  target.replaceChildren(option('', 'the top prediction', true));
  m.labels.forEach((label, i) => target.append(option(String(i), label)));
  const layer = $('layer');
  layer.replaceChildren(option('', 'the model\'s default' + (m.cam_layer ? ' (' + m.cam_layer + ')' : ''), true));
  for (const l of m.layers || []) layer.append(option(l.name, l.name + ' (' + l.shape.join(' x ') + ')'));
  onMethodChange();
}

function paramField(p) {
  const id = 'p-' + p.name;
  const wrap = document.createElement('div');
  wrap.className = 'field';
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = p.name;
  let input;
  if (p.type === 'boolean') {
    input = document.createElement('input');
    input.type = 'checkbox';
    input.checked = !!p.default;
  } else if (p.enum) {
    input = document.createElement('select');
    for (const c of p.enum) input.append(option(c, c, c === p.default));
  } else {
    input = document.createElement('input');
    input.type = 'number';
    input.step = p.type === 'integer' ? '1' : 'any';
    if (p.minimum !== undefined) input.min = String(p.minimum);
    if (p.maximum !== undefined) input.max = String(p.maximum);
    input.value = String(p.default);
  }
  input.id = id;
  input.dataset.param = p.name;
  input.dataset.type = p.type;
  const help = document.createElement('p');
  help.className = 'help';
  help.id = id + '-desc';
  const range = p.minimum !== undefined ? ' (' + p.minimum + ' to ' + p.maximum + ')' : '';
  help.textContent = (p.description || '') + range + '; default ' + JSON.stringify(p.default) + '.';
  input.setAttribute('aria-describedby', help.id);
  if (p.type === 'boolean') {
    const row = document.createElement('div');
    row.className = 'inline';
    row.append(input, label);
    wrap.append(row, help);
  } else {
    wrap.append(label, input, help);
  }
  return wrap;
}

function onMethodChange() {
  const m = currentMethod();
  if (!m) return;
  $('method-desc').textContent = m.summary;
  const fields = $('param-fields');
  fields.replaceChildren();
  for (const p of m.parameters) fields.append(paramField(p));
  if (!m.parameters.length) {
    const none = document.createElement('p');
    none.className = 'help';
    none.textContent = 'This method has no parameters.';
    fields.append(none);
  }
  $('layer').disabled = !m.uses_layer;
  $('layer-desc').textContent = m.uses_layer
    ? 'The convolutional layer whose feature maps the method reads.'
    : 'This method works on the input pixels; it uses no layer.';
}

// The request's parameters as one JSON object (the "params" part).
function requestParams(extra) {
  const p = { method: $('method').value, ...extra };
  if ($('target').value !== '') p.target = Number($('target').value);
  if (!$('layer').disabled && $('layer').value) p.layer = $('layer').value;
  for (const input of $('param-fields').querySelectorAll('[data-param]')) {
    const name = input.dataset.param;
    if (input.type === 'checkbox') p[name] = input.checked;
    else if (input.dataset.type === 'integer' || input.dataset.type === 'number') {
      // an unparsable entry is sent as typed, so that the server's message explains it
      const n = Number(input.value);
      p[name] = input.value.trim() !== '' && Number.isFinite(n) ? n : input.value;
    } else p[name] = input.value;
  }
  return p;
}

function requestBody(extra) {
  const body = new FormData();
  // the third argument replaces the file's own name: xaid never needs it, and file names of
  // medical images often carry patient names
  body.append('image', state.imageFile, 'image');
  body.append('params', JSON.stringify(requestParams(extra)));
  return body;
}

function modelPath(suffix) {
  return '/v1/models/' + encodeURIComponent($('model').value) + '/' + suffix;
}

// ---- results ----

function fmt(v) {
  if (Math.abs(v) < 1e-30) return '0';
  return Number(v).toPrecision(3).replace(/\.?0+e/, 'e');
}

function showScores(answer) {
  const body = $('scores').querySelector('tbody');
  body.replaceChildren();
  for (const s of answer.scores) {
    const tr = document.createElement('tr');
    if (s.index === answer.prediction.index) tr.className = 'top';
    for (const [text, cls] of [[s.label, ''], [(100 * s.probability).toFixed(1) + ' %', 'num'], [s.logit.toFixed(3), 'num']]) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    body.append(tr);
  }
}

function showScale(ex) {
  const [lo, hi] = ex.display_range;
  const ticks = ex.signed ? [lo, 0, hi] : [lo, hi];
  $('scale').replaceChildren(...ticks.map((v) => {
    const s = document.createElement('span');
    s.textContent = fmt(v);
    return s;
  }));
  $('colorbar').src = 'data:image/png;base64,' + ex.colorbar_png;
  $('colorbar').alt = 'Colour scale (' + ex.colormap + ') from ' + fmt(lo) + ' on the left to ' + fmt(hi) + ' on the right';
  $('bar-desc').textContent = (ex.signed
    ? 'Red: positive values (towards the class), blue: negative ones (away from it). '
    : 'Warmer colours: higher values. ') +
    'Low values are transparent; values beyond the ends are drawn in the end colours. Units are the method\'s own.';
}

function showTiming(answer) {
  const t = answer.timing_ms || {};
  const parts = ['queue', 'decode', 'forward', 'explain', 'encode']
    .filter((k) => t[k] !== undefined)
    .map((k) => k + ' ' + t[k].toFixed(1));
  $('timing').textContent = 'Time: ' + (t.total !== undefined ? t.total.toFixed(1) + ' ms' : '?') +
    (parts.length ? ' (' + parts.join(', ') + ' ms)' : '') + '. Request id ' + answer.request_id + '.';
}

function showResult(answer) {
  const ex = answer.explanation;
  const method = state.methods.find((m) => m.name === ex.method);
  $('heat').src = 'data:image/png;base64,' + ex.heatmap_png;
  $('heat').alt = 'Heatmap of ' + ex.method + ' for ' + answer.target.label + ', drawn over the image';
  $('heat').style.opacity = $('opacity').value;
  showScale(ex);
  showScores(answer);
  showTiming(answer);
  $('caveat').textContent = method ? 'Caveat: ' + method.caveat : '';
  $('result').hidden = false;
  $('result-title').textContent = 'Result: ' + ex.method + ' for ' + answer.target.label +
    ' (prediction: ' + answer.prediction.label + ')';
  $('result-title').focus();
}

async function explain(ev) {
  ev.preventDefault();
  clearError();
  if (!state.imageFile) {
    showError(new Error('Choose an image file first.'));
    $('image').focus();
    return;
  }
  busy('Explaining…');
  try {
    const res = await apiFetch(modelPath('explain'), {
      method: 'POST',
      headers: { Accept: 'application/json' },
      body: requestBody({ outputs: ['heatmap_png', 'colorbar_png'] }),
    });
    showResult(await res.json());
  } catch (e) {
    showError(e);
  } finally {
    busy('');
  }
}

async function makeReport() {
  clearError();
  busy('Making the report…');
  try {
    const res = await apiFetch(modelPath('report'), {
      method: 'POST',
      headers: { Accept: 'text/html' },
      body: requestBody({}),
    });
    const blob = new Blob([await res.arrayBuffer()], { type: 'text/html' });
    if (state.reportUrl) URL.revokeObjectURL(state.reportUrl);
    state.reportUrl = URL.createObjectURL(blob);
    const id = res.headers.get('X-Request-ID') || 'report';
    for (const a of [$('report-open'), $('report-save')]) {
      a.href = state.reportUrl;
      a.hidden = false;
    }
    $('report-save').download = 'xaid-report-' + id.replace(/[^A-Za-z0-9._-]/g, '') + '.html';
    $('report-open').focus();
  } catch (e) {
    showError(e);
  } finally {
    busy('');
  }
}

function onImageChange() {
  const file = $('image').files[0];
  state.imageFile = file || null;
  $('result').hidden = true;
  for (const a of [$('report-open'), $('report-save')]) a.hidden = true;
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => { $('base').src = reader.result; };
  reader.readAsDataURL(file);
}

async function init() {
  $('form').addEventListener('submit', explain);
  $('model').addEventListener('change', onModelChange);
  $('method').addEventListener('change', onMethodChange);
  $('image').addEventListener('change', onImageChange);
  $('report').addEventListener('click', makeReport);
  $('opacity').addEventListener('input', () => {
    $('heat').style.opacity = $('opacity').value;
    $('opacity-out').textContent = Number($('opacity').value).toFixed(2);
  });
  $('result-title').tabIndex = -1;
  try {
    const [models, methods] = await Promise.all([getJson('/v1/models'), getJson('/v1/methods')]);
    state.models = models.models;
    state.methods = methods.methods;
  } catch (e) {
    showError(e);
    return;
  }
  // Preselect the first classifier that grad-CAM (the default method) fits: an autoencoder
  // (reconstruction) comes first in name order in the bundled repository but is no default.
  const first = state.models.find((m) => !m.reconstruction && (m.methods || []).includes('gradcam'));
  for (const m of state.models) {
    $('model').append(option(m.name, m.name + ' ' + m.version, first && m.name === first.name));
  }
  for (const m of state.methods) $('method').append(option(m.name, m.name, m.name === 'gradcam'));
  onModelChange();
}

document.addEventListener('DOMContentLoaded', init);
