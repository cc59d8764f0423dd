// Overview: engine health, live numbers (egress derived from byte counters between
// polls), server stats and the latest warnings.
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
      for (const v of (s.viewers || [])) {
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

  async function stats() {
    let s;
    try { s = await api('GET', '/api/dashboard/stats'); } catch (e) { return; }
    if (!s || typeof s !== 'object') return;
    const kv = clear($('[data-dashboard-kv]'));
    const add = (k, v) => { kv.append(el('div', { class: 'kv-item' }, el('dt', {}, k.replace(/_/g, ' ')), el('dd', {}, v))); };
    const walk = (obj, prefix) => {
      for (const [k, v] of Object.entries(obj)) {
        const key = prefix ? prefix + ' ' + k : k;
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(v, key);
        else if (Array.isArray(v)) add(key, String(v.length) + ' items');
        else if (typeof v === 'number' && /bytes/.test(k)) add(key, fmtBytes(v));
        else add(key, String(v));
      }
    };
    walk(s, '');
    $('[data-dashboard-stats]').hidden = kv.childElementCount === 0;
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
  poll(warnings, 15000);
});
