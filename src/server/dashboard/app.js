// The dashboard of `ztp serve`: environments, the live run, history and traffic plots, read
// from the JSON API (/api/v1) with the token kept in localStorage, and kept current by the
// server-sent events stream (with a slower poll as a safety net). No framework, no other origin.

const API = '/api/v1';
const TOKEN_KEY = 'ztp.token';
const ACTIVE = new Set(['queued', 'running', 'awaiting_approval']);
const PALETTE = ['#2f6fdf', '#e07b24', '#1f9d55', '#8a5cd6', '#d64545', '#138a9e', '#9c6b30'];
const PLOT_WINDOW_MS = 30 * 60 * 1000;
// Events whose data.weights is the split they left.
const WEIGHT_EVENTS = new Set(['weights', 'restore.weights', 'rollback.switched']);
// Event kinds the engine writes; each one refreshes the page (the stream names events by kind).
const EVENT_KINDS = [
  'message', 'weights', 'gate.waiting', 'image.built', 'verify.started',
  ...['queued', 'started', 'running', 'awaiting_approval', 'succeeded', 'failed', 'rolled_back',
    'cancelled', 'interrupted'].map((s) => `run.${s}`),
  ...['started', 'running', 'succeeded', 'failed', 'skipped'].map((s) => `stage.${s}`),
  ...['step', 'analysis', 'verified', 'aborted', 'skipped', 'inconclusive', 'stable_kept']
    .map((s) => `canary.${s}`),
  ...['started', 'succeeded', 'failed', 'rolled_back'].map((s) => `rollout.${s}`),
  ...['started', 'switched', 'files_changed', 'succeeded', 'failed'].map((s) => `rollback.${s}`),
  ...['starting', 'healthy', 'draining', 'stopped'].map((s) => `replica.${s}`),
  ...['opened', 'verified', 'closed'].map((s) => `preview.${s}`),
  ...['started', 'passed', 'failed'].map((s) => `watch.${s}`),
  'check.passed', 'check.failed', 'reconcile.restored', 'standby.expired', 'standby.replaced',
  'restore.weights',
];

const state = {
  token: localStorage.getItem(TOKEN_KEY) || '',
  role: '',
  envs: [],
  runs: [],
  run: null,          // the run shown under "Run": the picked one, else the newest active one
  pickedRun: null,    // a run id clicked in the history
  plotEnv: '',
  events: null,       // the EventSource
};

const $ = (id) => document.getElementById(id);

// An element with attributes ("text" sets its text) and children.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(node, attrs);
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') node.textContent = v;
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
  }
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}, token = state.token) {
  const headers = { Authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(API + path, {
    method: options.method || 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const message = body && body.error ? body.error.message : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message);
  }
  return body;
}

const canAct = () => state.role === 'deployer' || state.role === 'admin';
const label = (release) => (/^\d+$/.test(String(release)) ? `r${release}` : String(release));
const colorOf = (release) => {
  const n = Number.parseInt(release, 10);
  const i = Number.isNaN(n) ? [...String(release)].reduce((a, c) => a + c.charCodeAt(0), 0) : n;
  return PALETTE[i % PALETTE.length];
};
const parseData = (d) => {
  if (typeof d !== 'string') return d || {};
  try {
    return JSON.parse(d);
  } catch {
    return {};
  }
};

function ago(ms) {
  if (!ms) return '–';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

function duration(ms) {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });

function statusClass(status) {
  if (status === 'succeeded' || status === true) return 'ok';
  if (['failed', 'rolled_back', false].includes(status)) return 'bad';
  if (status === 'awaiting_approval') return 'wait';
  if (status === 'running' || status === 'queued') return 'run';
  return '';
}

const badge = (text, cls, testid) => el('span', { class: `badge ${cls}`, 'data-testid': testid, text });

function showNotice(message) {
  $('notice').hidden = !message;
  $('notice').textContent = message || '';
}

// ---- rendering -------------------------------------------------------------------------

// A bar with one segment per release, as wide as its share of the traffic.
function renderSplit(node, weights) {
  const entries = Object.entries(weights || {}).filter(([, w]) => w > 0)
    .sort(([a], [b]) => String(a).localeCompare(String(b), undefined, { numeric: true }));
  node.dataset.weights = JSON.stringify(weights || {});
  node.replaceChildren(...entries.map(([release, w]) => {
    const seg = el('span', { 'data-release': release, title: `${label(release)}: ${w}%`,
      text: `${label(release)} ${w}%` });
    seg.style.flexGrow = String(w);
    seg.style.background = colorOf(release);
    return seg;
  }));
}

// The health badge of an environment: a replica of a new set that is still starting is a
// rollout in progress, not ill health; anything else unhealthy is.
function envHealth(env) {
  const id = `env-health-${env.name}`;
  if (!env.release && !env.progressing) return badge('no release', '', id);
  if (env.progressing && (env.healthy || !env.release)) return badge('progressing', 'run', id);
  return badge(env.healthy ? 'healthy' : 'unhealthy', statusClass(env.healthy), id);
}

function renderEnvironments() {
  $('environments').replaceChildren(...state.envs.map((env) => {
    const r = env.release;
    const health = envHealth(env);
    health.dataset.healthy = String(Boolean(env.healthy));
    health.dataset.progressing = String(Boolean(env.progressing));
    const replicas = env.replicas || [];
    const split = el('div', { class: 'split', 'data-testid': `env-split-${env.name}` });
    renderSplit(split, env.weights);
    const rollback = canAct() && r ? el('button', { type: 'button', class: 'danger',
      'data-testid': `rollback-${env.name}`, text: 'Roll back' }) : null;
    rollback?.addEventListener('click', () => rollbackEnv(env.name, rollback));
    return el('div', { class: 'card', 'data-testid': `env-${env.name}` },
      el('h3', {}, el('span', { text: env.name }),
        env.frozen ? badge('frozen', 'wait', `env-frozen-${env.name}`) : null,
        env.isolated ? badge('isolated', 'bad', `env-isolated-${env.name}`) : null, health),
      el('dl', {},
        el('dt', { text: 'release' }),
        el('dd', { 'data-testid': `env-release-${env.name}`,
          text: r ? `${label(r.revision)} · ${r.strategy || ''}` : '–' }),
        el('dt', { text: 'commit' }),
        el('dd', {}, el('code', { 'data-testid': `env-sha-${env.name}`, text: r ? r.short_sha : '–' })),
        el('dt', { text: 'age' }),
        el('dd', { 'data-testid': `env-age-${env.name}`, text: r ? ago(r.activated_at) : '–' }),
        el('dt', { text: 'replicas' }),
        el('dd', { text: `${replicas.filter((x) => x.healthy).length}/${replicas.length} healthy` }),
        el('dt', { text: 'url' }),
        el('dd', {}, env.url ? el('a', { href: env.url, text: env.url }) : '–')),
      split,
      el('div', { class: 'actions' }, rollback));
  }));
}

// The environment the run is at: that of its running stage, else of its last stage with one.
function runEnv(run) {
  const stages = (run.stages || []).filter((s) => s.env);
  const running = stages.find((s) => s.status === 'running');
  return (running || stages.filter((s) => s.status !== 'pending').pop() || stages[0] || {}).env || '';
}

// The environment a run awaiting approval waits at (pending_approval names it), else null.
function pendingApproval(run) {
  if (run.status !== 'awaiting_approval') return null;
  const gate = (run.stages || []).find((s) => s.name === 'gate' && s.status === 'running');
  const env = run.pending_approval || (run.approval && run.approval.env) || (gate && gate.env);
  return { env: env || '' };
}

function renderRun() {
  const run = state.run;
  const section = $('live-run');
  section.dataset.status = run ? run.status : '';
  section.dataset.runId = run ? String(run.id) : '';
  if (!run) {
    $('live-run-title').replaceChildren('no runs yet');
    $('stages').replaceChildren();
    $('approval').hidden = true;
    renderSplit($('live-weights'), {});
    return;
  }
  $('live-run-title').replaceChildren(`#${run.id} `, el('code', { text: run.short_sha || '' }), ' ',
    badge(run.status.replace('_', ' '), statusClass(run.status), 'live-run-status'));
  $('live-run-reason').textContent = run.reason || '';
  const approval = pendingApproval(run);
  $('stages').replaceChildren(...(run.stages || []).map((s) => {
    const waiting = s.name === 'gate' && s.status === 'running' && approval;
    return el('li', { 'data-testid': `stage-${s.env || 'run'}-${s.name}`, 'data-status': s.status,
      class: waiting ? 'waiting' : '', title: s.detail || '' },
    `${s.env ? `${s.env} ` : ''}${s.name}`,
    el('small', { text: waiting ? 'awaiting approval' : s.status === 'running' ? 'running'
      : s.status === 'pending' ? '' : `${s.status} ${duration(s.duration_ms)}` }));
  }));
  // The split of the environment the run is at. While the run moves traffic, its last event
  // that set weights (a step, a restore); once it has ended, what the environment serves now,
  // read after the run, so a later rollback or deploy shows.
  const env = runEnv(run);
  const current = state.envs.find((e) => e.name === env);
  const last = (run.events || []).filter((e) => e.env === env && WEIGHT_EVENTS.has(e.kind)
    && parseData(e.data).weights).pop();
  const live = ACTIVE.has(run.status) && last;
  $('live-weights-env').textContent = env ? `(${env})` : '';
  renderSplit($('live-weights'), live ? parseData(last.data).weights : current && current.weights);
  $('approval').hidden = !(approval && canAct());
  $('approval').dataset.env = approval ? approval.env : '';
  $('approval-text').textContent = approval ? `${approval.env} awaits approval` : '';
}

function renderRuns() {
  $('runs').replaceChildren(...state.runs.map((run) => {
    const took = run.finished_at ? duration(run.finished_at - run.created_at) : '';
    const row = el('tr', { 'data-testid': `run-row-${run.id}`, 'data-status': run.status,
      class: state.run && state.run.id === run.id ? 'selected' : '' },
    el('td', { text: `#${run.id}` }),
    el('td', {}, el('code', { text: run.short_sha || '' })),
    el('td', { text: run.trigger || '' }),
    el('td', {}, badge(run.status.replace('_', ' '), statusClass(run.status))),
    el('td', { text: run.created_at ? clock(run.created_at) : '' }),
    el('td', { text: took }),
    el('td', { class: 'muted', text: run.reason || '' }));
    row.addEventListener('click', () => {
      state.pickedRun = state.pickedRun === run.id ? null : run.id;
      scheduleRefresh(0);
    });
    return row;
  }));
}

// One plot: a line per release of `field` over time, a dashed marker at each deployment; the
// y axis reaches at least `floor`.
function drawPlot(svg, traffic, field, format, floor) {
  const W = 600, H = 180, L = 48, R = 10, T = 14, B = 22;
  const points = (traffic.points || []).filter((p) => typeof p[field] === 'number');
  const deployments = traffic.deployments || [];
  svg.replaceChildren();
  svg.dataset.points = String(points.length);
  if (!points.length) {
    svg.append(svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }));
    svg.lastChild.textContent = traffic.error || 'no traffic yet';
    return;
  }
  const times = [...points.map((p) => p.at), ...deployments.map((d) => d.at)];
  const t0 = Math.min(...times);
  const t1 = Math.max(t0 + 1000, ...times);
  const ymax = Math.max(floor, ...points.map((p) => p[field])) * 1.15;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => H - B - (v / ymax) * (H - T - B);
  for (const v of [0, ymax / 2, ymax]) {
    svg.append(svgEl('line', { class: v ? 'grid' : 'axis', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    const t = svgEl('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' });
    t.textContent = format(v);
    svg.append(t);
  }
  for (const [t, anchor] of [[t0, 'start'], [t1, 'end']]) {
    const text = svgEl('text', { x: x(t), y: H - 6, 'text-anchor': anchor });
    text.textContent = clock(t);
    svg.append(text);
  }
  for (const d of deployments) {
    svg.append(svgEl('line', { class: 'deploy-marker', 'data-testid': 'deploy-marker',
      x1: x(d.at), x2: x(d.at), y1: T, y2: H - B }));
    const right = x(d.at) > W / 2;  // label on the side with room
    const text = svgEl('text', { class: 'deploy-label', x: x(d.at) + (right ? -3 : 3), y: T - 3,
      'text-anchor': right ? 'end' : 'start' });
    text.textContent = d.short_sha || label(d.revision);
    svg.append(text);
  }
  const byRelease = new Map();
  for (const p of points) {
    if (!byRelease.has(p.release)) byRelease.set(p.release, []);
    byRelease.get(p.release).push(p);
  }
  for (const [release, series] of byRelease) {
    series.sort((a, b) => a.at - b.at);
    const d = series.map((p, i) => `${i ? 'L' : 'M'}${x(p.at).toFixed(1)},${y(p[field]).toFixed(1)}`);
    svg.append(svgEl('path', { class: 'series', 'data-release': release, stroke: colorOf(release),
      d: d.join(' ') }));
    if (series.length === 1) {
      svg.append(svgEl('circle', { cx: x(series[0].at), cy: y(series[0][field]), r: 3,
        fill: colorOf(release) }));
    }
  }
}

function renderPlots(traffic) {
  const num = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  drawPlot($('plot-requests'), traffic, 'requests_per_s', num, 1);
  drawPlot($('plot-errors'), traffic, 'error_rate', (v) => `${(v * 100).toFixed(1)}%`, 0.01);
  drawPlot($('plot-p95'), traffic, 'p95_ms', num, 1);
  const releases = [...new Set((traffic.points || []).map((p) => p.release))];
  $('plot-legend').replaceChildren(...releases.map((r) => {
    const swatch = el('i');
    swatch.style.background = colorOf(r);
    return el('span', {}, swatch, label(r));
  }));
}

function renderPlotChoices() {
  const names = state.envs.map((e) => e.name);
  if (!names.includes(state.plotEnv)) {
    // Default to the last environment (production, by the pipeline's order).
    state.plotEnv = names[names.length - 1] || '';
  }
  const select = $('plot-env');
  if (select.options.length !== names.length || [...select.options].some((o, i) => o.value !== names[i])) {
    select.replaceChildren(...names.map((n) => el('option', { value: n, text: n })));
  }
  select.value = state.plotEnv;
}

// ---- loading ---------------------------------------------------------------------------

let refreshTimer = 0;
let refreshing = false;
let refreshAgain = false;

function scheduleRefresh(delay = 150) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, delay);
}

async function load() {
  const runs = (await api('/runs?limit=20')) || [];
  const shown = state.pickedRun ?? (runs.find((r) => ACTIVE.has(r.status)) || runs[0] || {}).id;
  const run = shown === undefined ? null : await api(`/runs/${shown}`);
  // The environments after the run: what an ended run's panel shows is then no older than it.
  // All three are taken together, so that a stream event drawn while these load never pairs
  // the new run with the old environments.
  const envs = (await api('/environments')) || [];
  Object.assign(state, { runs, run, envs });
  renderPlotChoices();
  // The plots are optional: a server without traffic history still shows everything else.
  const since = Date.now() - PLOT_WINDOW_MS;
  const traffic = state.plotEnv
    ? await api(`/environments/${encodeURIComponent(state.plotEnv)}/traffic?since=${since}`)
      .catch((e) => ({ points: [], deployments: [], error: e.message }))
    : { points: [], deployments: [] };
  renderEnvironments();
  renderRun();
  renderRuns();
  renderPlots(traffic);
}

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    await load();
    showNotice('');
  } catch (e) {
    handleError(e);
  } finally {
    refreshing = false;
  }
  if (refreshAgain) {
    refreshAgain = false;
    scheduleRefresh(0);
    return;
  }
  // The stream drives updates; this poll only catches what a dropped connection missed.
  scheduleRefresh(state.run && ACTIVE.has(state.run.status) ? 3000 : 10000);
}

function handleError(e) {
  if (e instanceof ApiError && e.status === 401) {
    askToken('The server does not know this token.');
  } else {
    showNotice(`${e.message}`);
  }
}

function connectEvents() {
  state.events?.close();
  const source = new EventSource(`${API}/events?access_token=${encodeURIComponent(state.token)}`);
  state.events = source;
  const connection = $('connection');
  source.onopen = () => {
    connection.dataset.state = 'live';
    connection.textContent = 'live';
  };
  source.onerror = () => {
    // The browser retries a dropped stream by itself, but not one the server refused.
    const closed = source.readyState === EventSource.CLOSED;
    connection.dataset.state = closed ? 'offline' : 'reconnecting';
    connection.textContent = connection.dataset.state;
    if (closed) setTimeout(() => state.events === source && connectEvents(), 5000);
  };
  const onEvent = (message) => {
    let event = {};
    try {
      event = JSON.parse(message.data);
    } catch {
      event = {};
    }
    // A weights event of the shown run moves its split at once; anything else refreshes.
    if (state.run && event.run_id === state.run.id && event.kind) {
      state.run.events = [...(state.run.events || []), event];
      renderRun();
    }
    scheduleRefresh();
  };
  for (const kind of EVENT_KINDS) source.addEventListener(kind, onEvent);
}

// ---- actions ---------------------------------------------------------------------------

async function act(button, path, body) {
  button.disabled = true;
  try {
    await api(path, { method: 'POST', body });
    showNotice('');
  } catch (e) {
    handleError(e);
  } finally {
    button.disabled = false;
    scheduleRefresh(0);
  }
}

function answer(verb) {
  if (!state.run) return;
  const comment = $('approval-comment').value;
  $('approval-comment').value = '';
  act($(`${verb}-button`), `/runs/${state.run.id}/${verb}`, { comment });
}

function rollbackEnv(env, button) {
  if (window.confirm(`Roll ${env} back to its previous release?`)) {
    act(button, `/environments/${encodeURIComponent(env)}/rollback`, {});
  }
}

// ---- the token -------------------------------------------------------------------------

function askToken(message = '') {
  $('token-error').textContent = message;
  $('token-input').value = '';
  if (!$('token-dialog').open) $('token-dialog').showModal();
  $('token-input').focus();
}

async function useToken(token) {
  const me = await api('/whoami', {}, token);
  state.token = token;
  state.role = me.role;
  localStorage.setItem(TOKEN_KEY, token);
  $('whoami').textContent = `${me.name} (${me.role})`;
  $('whoami').dataset.role = me.role;
  api('/apps').then((apps) => {
    $('app-name').textContent = (apps || []).map((a) => a.name).join(', ');
  }).catch(handleError);
  connectEvents();
  scheduleRefresh(0);
}

$('token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = $('token-input').value.trim();
  try {
    await useToken(token);
    $('token-dialog').close();
  } catch (err) {
    $('token-error').textContent = err.status === 401 ? 'The server does not know this token.'
      : err.message;
  }
});
$('token-forget').addEventListener('click', () => {
  localStorage.removeItem(TOKEN_KEY);
  state.token = '';
  state.events?.close();
  askToken('');
});
$('token-change').addEventListener('click', () => askToken(''));
$('approve-button').addEventListener('click', () => answer('approve'));
$('reject-button').addEventListener('click', () => answer('reject'));
$('plot-env').addEventListener('change', (e) => {
  state.plotEnv = e.target.value;
  scheduleRefresh(0);
});

if (state.token) {
  useToken(state.token).catch((e) => (e.status === 401 ? askToken('The saved token was refused.')
    : showNotice(e.message)));
} else {
  askToken('');
}
