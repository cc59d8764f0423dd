// Live streams: every live channel with its viewers (MPEG-TS players and HLS
// players apart), engine peers and speeds; a Play button (player.js) for
// catalogue channels and a Stop button per stream. Polls every 2.5 s while the
// tab is visible.
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

  function hlsViewers(s) {
    return (s.hls && Array.isArray(s.hls.viewers)) ? s.hls.viewers : [];
  }

  // TS and HLS viewer counts: the multiplexer's own when it reports them apart.
  function viewerKinds(s) {
    const ts = typeof s.ts_viewers === 'number' ? s.ts_viewers : (s.viewers || []).length;
    const hls = typeof s.hls_viewers === 'number' ? s.hls_viewers : hlsViewers(s).length;
    return { ts, hls };
  }

  function card(s) {
    const engine = s.engine || {};
    const name = names.get(s.stream_id);
    const phase = phaseText(s.phase);
    const stopBtn = el('button', { type: 'button', class: 'btn btn-sm btn-danger', dataset: { stop: s.stream_id } }, 'Stop');
    stopBtn.addEventListener('click', () => stop(s, stopBtn));
    const hasChannel = s.channel_id !== null && s.channel_id !== undefined;
    const playBtn = hasChannel
      ? el('button', { type: 'button', class: 'btn btn-sm btn-play', dataset: { playChannel: String(s.channel_id), playName: name || '' } }, '▶ Play')
      : null;
    const kinds = viewerKinds(s);
    const head = el('div', { class: 'stream-head' },
      el('span', { class: 'dot ' + (/run|play|live/i.test(phase) ? 'dot-ok' : 'dot-warn') }),
      el('span', { class: 'stream-title' }, name || s.stream_id),
      el('span', { class: 'badge' }, phase),
      el('span', { class: 'badge' + (kinds.ts ? ' badge-accent' : ''), title: 'MPEG-TS players (VLC, Kodi, IPTV apps)', dataset: { tsViewers: String(kinds.ts) } }, kinds.ts + ' TS'),
      el('span', { class: 'badge' + (kinds.hls ? ' badge-accent' : ''), title: 'HLS players (browsers, Apple TV, phones)', dataset: { hlsViewers: String(kinds.hls) } }, kinds.hls + ' HLS'),
      el('span', { class: 'stream-buttons' }, playBtn, stopBtn));
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
    // One table for both kinds: TS viewers show their lag and skips, HLS viewers
    // the segments fetched and how long since the last request.
    const viewerRow = (v, via, detail) => el('tr', { dataset: { via } },
      el('td', {}, el('span', { class: 'badge' + (via === 'hls' ? ' badge-accent' : '') }, via.toUpperCase())),
      el('td', {}, v.user || '-'),
      el('td', { class: 'mono' }, v.ip || ''),
      el('td', { class: 'small ua' }, v.user_agent || ''),
      el('td', {}, fmtAgo(v.since)),
      el('td', { class: 'num' }, fmtBytes(v.bytes_sent)),
      el('td', { class: 'small' }, detail));
    const rows = (s.viewers || []).map((v) => viewerRow(v, 'ts',
      'lag ' + fmtBytes(v.lag_bytes) + ' · ' + (v.skips || 0) + ' skip' + (v.skips === 1 ? '' : 's')))
      .concat(hlsViewers(s).map((v) => viewerRow(v, 'hls',
        (v.segments || 0) + ' segment' + (v.segments === 1 ? '' : 's') + ' · idle ' + Math.round(Number(v.idle_secs) || 0) + ' s')));
    const table = el('div', { class: 'table-wrap' }, el('table', { class: 'table' },
      el('thead', {}, el('tr', {}, ['Via', 'User', 'IP', 'Player', 'Watching for', 'Sent', 'Details'].map((h, i) =>
        el('th', { class: i === 5 ? 'num' : null }, h)))),
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
    let ts = 0, hls = 0, sent = 0, bytesIn = 0;
    for (const s of streams) {
      bytesIn += Number(s.bytes_in) || 0;
      const kinds = viewerKinds(s);
      ts += kinds.ts;
      hls += kinds.hls;
      for (const v of (s.viewers || []).concat(hlsViewers(s))) sent += Number(v.bytes_sent) || 0;
    }
    const now = performance.now();
    $('[data-sum-streams]').textContent = String(streams.length);
    $('[data-sum-viewers]').textContent = String(ts + hls);
    $('[data-sum-kinds]').textContent = ts + ' MPEG-TS · ' + hls + ' HLS';
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
