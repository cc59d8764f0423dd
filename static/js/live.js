// Live streams: every live channel with its viewers, engine peers and speeds; a
// Stop button per stream. Polls every 2.5 s while the tab is visible.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, clear, fmtBytes, fmtRate, fmtAgo, toast, poll } = window.acx;
  const $ = (sel) => document.querySelector(sel);
  const names = new Map(); // stream id -> channel name (looked up once)
  let last = null;

  async function lookupNames(ids) {
    const missing = ids.filter((id) => !names.has(id));
    if (!missing.length) return;
    const qs = missing.map((id) => 'id=' + encodeURIComponent(id)).join('&');
    try {
      const found = await api('GET', '/dashboard/stream-names?' + qs);
      for (const id of missing) names.set(id, (found && found[id]) || '');
    } catch (e) { /* names are a nicety */ }
  }

  function phaseText(p) {
    if (p === null || p === undefined) return 'unknown';
    if (typeof p === 'string') return p;
    if (typeof p === 'object') return String(p.state || p.phase || p.kind || Object.keys(p)[0] || 'unknown');
    return String(p);
  }

  async function stop(stream, button) {
    if (!confirm('Stop this stream for all of its viewers?')) return;
    button.disabled = true;
    try {
      await api('DELETE', '/api/aceproxy/streams/' + encodeURIComponent(stream.stream_id));
      toast('Stream stopped');
      refresh();
    } catch (e) {
      toast('Could not stop the stream: ' + e.message, 'error');
      button.disabled = false;
    }
  }

  function card(s) {
    const engine = s.engine || {};
    const name = names.get(s.stream_id);
    const phase = phaseText(s.phase);
    const stopBtn = el('button', { type: 'button', class: 'btn btn-sm btn-danger', dataset: { stop: s.stream_id } }, 'Stop');
    stopBtn.addEventListener('click', () => stop(s, stopBtn));
    const head = el('div', { class: 'stream-head' },
      el('span', { class: 'dot ' + (/run|play|live/i.test(phase) ? 'dot-ok' : 'dot-warn') }),
      el('span', { class: 'stream-title' }, name || s.stream_id),
      el('span', { class: 'badge' }, phase),
      stopBtn);
    const link = s.link || null;
    const last = (s.recent_switches || []).slice(-1)[0];
    const meta = el('div', { class: 'stream-meta' },
      el('span', {}, 'id ', el('b', { class: 'mono' }, String(s.stream_id).slice(0, 16) + (String(s.stream_id).length > 16 ? '…' : ''))),
      el('span', { dataset: { link: '' } }, 'link ', el('b', {}, link ? (link.index + 1) + ' of ' + (s.links || 1) : '–'),
        link && link.engine ? el('span', { class: 'muted' }, ' on ' + link.engine) : ''),
      el('span', { dataset: { switches: '' } }, 'switches ', el('b', {}, String(s.switches || 0)),
        last ? el('span', { class: 'muted', title: last.detail || '' }, ' (last: ' + last.reason + ')') : ''),
      el('span', {}, 'up ', el('b', {}, fmtAgo(s.started_at))),
      el('span', {}, 'received ', el('b', {}, fmtBytes(s.bytes_in))),
      el('span', {}, 'peers ', el('b', {}, engine.peers === undefined ? '–' : String(engine.peers))),
      el('span', {}, 'down ', el('b', {}, engine.speed_down === undefined ? '–' : fmtRate(engine.speed_down * 1024))),
      el('span', {}, 'up ', el('b', {}, engine.speed_up === undefined ? '–' : fmtRate(engine.speed_up * 1024))));
    const rows = (s.viewers || []).map((v) => el('tr', {},
      el('td', {}, v.user || '-'),
      el('td', { class: 'mono' }, v.ip || ''),
      el('td', { class: 'small ua' }, v.user_agent || ''),
      el('td', {}, fmtAgo(v.since)),
      el('td', { class: 'num' }, fmtBytes(v.bytes_sent)),
      el('td', { class: 'num' }, fmtBytes(v.lag_bytes)),
      el('td', { class: 'num' }, String(v.skips || 0))));
    const table = el('div', { class: 'table-wrap' }, el('table', { class: 'table' },
      el('thead', {}, el('tr', {}, ['User', 'IP', 'Player', 'Watching for', 'Sent', 'Lag', 'Skips'].map((h, i) =>
        el('th', { class: i >= 4 ? 'num' : null }, h)))),
      el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'No viewer (the stream stops after its grace period)')))));
    return el('article', { class: 'stream-card', dataset: { streamId: s.stream_id } }, head, meta, table);
  }

  async function refresh() {
    const status = $('[data-live-status]');
    let data;
    try {
      data = await api('GET', '/api/aceproxy/stats');
    } catch (e) {
      status.textContent = 'offline: ' + e.message;
      status.className = 'pill pill-bad';
      throw e;
    }
    status.textContent = 'live · updated ' + new Date().toLocaleTimeString();
    status.className = 'pill pill-live';
    const streams = (data && Array.isArray(data.streams)) ? data.streams : [];
    await lookupNames(streams.map((s) => s.stream_id));
    let viewers = 0, sent = 0, bytesIn = 0;
    for (const s of streams) {
      bytesIn += Number(s.bytes_in) || 0;
      for (const v of (s.viewers || [])) { viewers++; sent += Number(v.bytes_sent) || 0; }
    }
    const now = performance.now();
    $('[data-sum-streams]').textContent = String(streams.length);
    $('[data-sum-viewers]').textContent = String(viewers);
    if (last && now > last.t) {
      const dt = (now - last.t) / 1000;
      $('[data-sum-in]').textContent = fmtRate(Math.max(0, bytesIn - last.bytesIn) / dt);
      $('[data-sum-out]').textContent = fmtRate(Math.max(0, sent - last.sent) / dt);
    }
    last = { t: now, sent, bytesIn };
    const box = clear($('[data-streams]'));
    for (const s of streams) box.append(card(s));
    $('[data-no-streams]').hidden = streams.length > 0;
  }

  poll(refresh, 2500);
});
