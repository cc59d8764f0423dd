// Overview: engine health, live numbers (egress derived from byte counters between
// polls), a chart of viewers and egress over the last hour (uPlot, from
// /api/stats/history), server figures and the latest warnings.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, clear, fmtRate, fmtBytes, poll } = window.acx;
  const $ = (sel) => document.querySelector(sel);

  async function health() {
    const dot = $('[data-health-dot]');
    const text = $('[data-health-text]');
    const sub = $('[data-health-sub]');
    let h;
    try {
      h = await api('GET', '/api/health');
    } catch (e) {
      h = e.data || null;
    }
    const engine = (h && h.engine) || {};
    const pool = Array.isArray(engine.engines) ? engine.engines : [];
    dot.className = 'dot ' + (engine.ok ? (engine.up < pool.length ? 'dot-warn' : 'dot-ok') : 'dot-bad');
    text.textContent = engine.ok ? (pool.length > 1 ? engine.up + ' of ' + pool.length + ' up' : 'online') : 'unreachable';
    const parts = [];
    if (engine.version) parts.push('version ' + engine.version);
    engines(pool);
    if (!engine.ok && engine.error) parts.push(engine.error);
    if (h && h.status && h.status !== 'ok') parts.push('service ' + h.status);
    if (h && h.mux && !h.mux.ok) parts.push('multiplexer: ' + (h.mux.error || 'down'));
    sub.textContent = parts.join(' · ') || '\u00a0';
  }

  // One line per engine of the pool: up/down, version, sessions, last error.
  function engines(pool) {
    const list = $('[data-engines]');
    if (!list) return;
    clear(list);
    for (const e of pool) {
      const state = e.state || 'unknown';
      const cap = e.max_sessions ? ' / ' + e.max_sessions : '';
      list.appendChild(el('li', { dataset: { engine: e.url } },
        el('span', { class: 'dot ' + (state === 'up' ? 'dot-ok' : state === 'down' ? 'dot-bad' : 'dot-unknown') }),
        el('div', { class: 'status-main' },
          el('div', { class: 'status-title mono' }, e.url),
          state === 'down' && e.last_error ? el('div', { class: 'status-error' }, e.last_error) : '',
          el('div', { class: 'muted small' }, state + (e.version ? ' · version ' + e.version : '') +
            ' · ' + e.sessions + cap + ' session' + (e.sessions === 1 ? '' : 's')))));
    }
  }

  let last = null; // {t, sent} of the previous poll, for the egress rate
  async function live() {
    const data = await api('GET', '/api/aceproxy/stats');
    const streams = (data && Array.isArray(data.streams)) ? data.streams : [];
    let viewers = 0;
    let sent = 0;
    const users = new Set();
    for (const s of streams) {
      const hls = (s.hls && Array.isArray(s.hls.viewers)) ? s.hls.viewers : [];
      for (const v of (s.viewers || []).concat(hls)) {
        viewers++;
        sent += Number(v.bytes_sent) || 0;
        if (v.user && v.user !== '-') users.add(v.user);
      }
    }
    $('[data-live-channels]').textContent = String(streams.length);
    $('[data-viewers]').textContent = String(viewers);
    $('[data-viewer-users]').textContent = users.size ? Array.from(users).slice(0, 5).join(', ') : 'no one watching';
    const now = performance.now();
    if (last && now > last.t) {
      // Viewers that left take their counters with them: never show a negative rate.
      const rate = Math.max(0, sent - last.sent) / ((now - last.t) / 1000);
      $('[data-egress]').textContent = fmtRate(rate);
    }
    last = { t: now, sent };
  }

  // The server's figures in a few small tables instead of a raw dump.
  function fmtUptime(secs) {
    secs = Math.max(0, Number(secs) || 0);
    const d = Math.floor(secs / 86400), h = Math.floor((secs % 86400) / 3600), m = Math.floor((secs % 3600) / 60);
    return d ? d + ' d ' + h + ' h' : h ? h + ' h ' + m + ' min' : m + ' min';
  }
  async function stats() {
    let s;
    try { s = await api('GET', '/api/dashboard/stats'); } catch (e) { return; }
    if (!s || typeof s !== 'object') return;
    const num = (v) => (typeof v === 'number' ? v.toLocaleString() : '–');
    const streams = s.streams || {};
    const m = streams.metrics || {};
    const switches = m.link_switches && typeof m.link_switches === 'object' ? m.link_switches : {};
    const switchTotal = Object.values(switches).reduce((a, b) => a + (Number(b) || 0), 0);
    const switchDetail = Object.entries(switches).filter(([, n]) => n).map(([k, n]) => k.replace(/_/g, ' ') + ' ' + n).join(', ');
    const users = s.users || {};
    const sources = s.sources || {};
    const groups = [
      ['Process', [
        ['Version', s.version || '–'],
        ['Up for', fmtUptime(s.uptime_secs)],
        ['Open player connections', num(users.active_connections)],
        ['Sources failing', num(sources.failing), sources.failing ? 'bad' : ''],
      ]],
      ['Streaming', streams.ok === false ? [['Multiplexer', streams.error || 'unreachable', 'bad']] : [
        ['Sent to players', fmtBytes(m.bytes_out)],
        ['Viewer connections', num(m.viewers_total)],
        ['Link switches', num(switchTotal) + (switchDetail ? ' (' + switchDetail + ')' : '')],
      ]],
      ['Engine sessions', streams.ok === false ? [] : [
        ['Opened', num(m.sessions_opened)],
        ['Stopped', num(m.sessions_stopped)],
        ['Failed to start', num(m.sessions_failed), m.sessions_failed ? 'warn' : ''],
        ['Re-opened after a stall', num(m.reopens)],
      ]],
    ];
    const box = clear($('[data-server-groups]'));
    for (const [title, rows] of groups) {
      if (!rows.length) continue;
      box.append(el('div', { class: 'server-group' },
        el('h3', {}, title),
        el('table', { class: 'table table-compact' }, el('tbody', {}, rows.map(([k, v, tone]) =>
          el('tr', {}, el('th', { scope: 'row' }, k), el('td', { class: 'num' + (tone ? ' tone-' + tone : '') }, v)))))));
    }
    $('[data-server-note]').textContent = 'counters since the start';
    $('[data-dashboard-stats]').hidden = box.childElementCount === 0;
  }

  // Viewers (left axis) and egress in bits/s (right axis) over the last hour.
  // Gaps are samples the multiplexer did not answer.
  let chart = null;
  let windowEnd = Date.now() / 1000; // the newest sample's time
  const chartBox = $('[data-traffic-chart]');
  function css(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }
  function makeChart(data) {
    const axis = { stroke: css('--muted', '#64748b'), grid: { stroke: css('--border', '#e2e8f0'), width: 1 }, ticks: { stroke: css('--border', '#e2e8f0') } };
    const bits = (v) => (v === null || v === undefined ? '–' : fmtRate(v / 8));
    return new window.uPlot({
      width: Math.max(280, chartBox.clientWidth),
      height: 240,
      cursor: { drag: { x: false, y: false } },
      // Always the last hour, however few samples there are yet.
      scales: { x: { time: true, range: () => [windowEnd - 3600, windowEnd] }, viewers: { range: (u, min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.2))] }, egress: { range: (u, min, max) => [0, Math.max(1e6, (max || 0) * 1.2)] } },
      series: [
        { value: (u, v) => (v === null ? '–' : new Date(v * 1000).toLocaleTimeString()) },
        { label: 'Viewers', scale: 'viewers', stroke: css('--accent', '#4f46e5'), width: 2, fill: 'rgba(99, 102, 241, .12)', value: (u, v) => (v === null ? '–' : String(v)), paths: window.uPlot.paths.stepped({ align: 1 }) },
        { label: 'Egress', scale: 'egress', stroke: css('--ok', '#16a34a'), width: 2, value: (u, v) => bits(v) },
      ],
      axes: [
        Object.assign({}, axis),
        Object.assign({}, axis, { scale: 'viewers', values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) }),
        Object.assign({}, axis, { scale: 'egress', side: 1, size: 80, grid: { show: false }, values: (u, ticks) => ticks.map(bits) }),
      ],
    }, data, chartBox);
  }
  async function history() {
    const h = await api('GET', '/api/stats/history');
    const samples = (h && Array.isArray(h.samples)) ? h.samples : [];
    $('[data-traffic-empty]').hidden = samples.length > 1;
    if (!window.uPlot) return;
    windowEnd = samples.length ? samples[samples.length - 1].t : Date.now() / 1000;
    const data = [
      samples.map((p) => p.t),
      samples.map((p) => (p.viewers === null || p.viewers === undefined ? null : p.viewers)),
      samples.map((p) => (p.egress_bps === null || p.egress_bps === undefined ? null : p.egress_bps)),
    ];
    if (!chart) chart = makeChart(data);
    else chart.setData(data);
  }
  if (window.ResizeObserver && chartBox) {
    new ResizeObserver(() => { if (chart) chart.setSize({ width: Math.max(280, chartBox.clientWidth), height: 240 }); }).observe(chartBox);
  }

  async function warnings() {
    const box = $('[data-warnings]');
    let data;
    try {
      data = await api('GET', '/api/logs/tail?level=WARN&limit=12');
    } catch (e) {
      clear(box).append(el('p', { class: 'muted' }, 'Logs unavailable: ' + e.message));
      return;
    }
    const lines = Array.isArray(data) ? data : (data && (data.lines || data.entries)) || [];
    const shown = lines.filter((l) => /WARN|ERROR/.test(String((l && l.level) || l).toUpperCase())).slice(-12);
    clear(box);
    if (!shown.length) box.append(el('p', { class: 'muted' }, 'No warnings. All quiet.'));
    for (const l of shown) {
      const level = String(l.level || '').toUpperCase();
      box.append(el('div', { class: 'log-line log-' + level }, String(l.text || l.line || l.message || JSON.stringify(l))));
    }
  }

  poll(health, 10000);
  poll(live, 3000);
  poll(stats, 10000);
  poll(history, 10000);
  poll(warnings, 15000);
});
