// Channels: add, edit, delete, copy a stream URL, a channel's links (with their
// health; add, remove, move up/down), what is on now (from the guide), and the
// availability check with live progress. The list itself is rendered (and paged)
// by the server; Play buttons open the player (player.js).
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, copy, toast, openDialog, formError, poll, el, clear, fmtAgo, fmtTime } = window.acx;
  const dialog = document.querySelector('[data-channel-dialog]');
  const form = document.querySelector('[data-channel-form]');
  let editing = null; // the row being edited, or null when adding

  // A logo that fails to load gives way to the name's initial.
  for (const img of document.querySelectorAll('img.logo')) {
    const fallback = () => {
      const row = img.closest('tr[data-channel]');
      const letter = row ? (row.dataset.name || '?').charAt(0).toUpperCase() : '?';
      img.replaceWith(window.acx.el('span', { class: 'logo logo-none', 'aria-hidden': 'true' }, letter));
    };
    if (img.complete && img.naturalWidth === 0) fallback();
    else img.addEventListener('error', fallback);
  }

  // "On now": the programme on the air of each listed channel, refreshed every
  // minute (a programme ending moves the column on without a reload).
  const rows = Array.from(document.querySelectorAll('tr[data-channel]'));
  const hhmm = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  async function onNow() {
    if (!rows.length) return;
    const qs = rows.map((r) => 'channel=' + encodeURIComponent(r.dataset.id)).join('&');
    let now;
    try { now = await api('GET', '/api/guide/now?' + qs); } catch (e) { return; }
    const t = Date.now() / 1000;
    for (const row of rows) {
      const cell = row.querySelector('[data-now]');
      if (!cell) continue;
      const p = now && now[row.dataset.id];
      clear(cell);
      if (!p) { cell.append(el('span', { class: 'muted' }, '—')); continue; }
      const span = p.stop - p.start;
      cell.title = p.title + ' · ' + hhmm(p.start) + '–' + hhmm(p.stop);
      cell.append(
        el('div', { class: 'now-title' }, p.title),
        el('div', { class: 'now-when muted small' },
          el('progress', { max: 1, value: span > 0 ? Math.min(1, Math.max(0, (t - p.start) / span)) : 0 }),
          ' until ' + hhmm(p.stop)));
    }
  }
  poll(onNow, 60000);

  function show(row) {
    editing = row;
    form.reset();
    dialog.querySelector('[data-dialog-title]').textContent = row ? 'Edit channel' : 'Add channel';
    for (const n of form.querySelectorAll('[data-only-new]')) n.hidden = !!row;
    for (const n of form.querySelectorAll('[data-only-edit]')) n.hidden = !row;
    form.elements.stream.required = !row;
    if (row) {
      const d = row.dataset;
      form.elements.name.value = d.name;
      form.elements.category.value = d.category;
      form.elements.logo.value = d.logo;
      form.elements.tvg_id.value = d.tvgId;
      form.elements.chno.value = d.chno;
      form.elements.enabled.checked = d.enabled === 'true';
    }
    openDialog(dialog);
    form.elements.name.focus();
  }

  document.querySelector('[data-add-channel]').addEventListener('click', () => show(null));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = form.elements;
    const body = {
      name: f.name.value.trim(),
      category: f.category.value.trim(),
      logo: f.logo.value.trim(),
      tvg_id: f.tvg_id.value.trim(),
    };
    if (f.chno.value !== '') body.chno = Number(f.chno.value);
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      if (editing) {
        body.enabled = f.enabled.checked;
        await api('PUT', '/api/channels/' + editing.dataset.id, body);
        toast('Channel saved');
      } else {
        body.stream = f.stream.value.trim();
        await api('POST', '/api/channels', body);
        toast('Channel added');
      }
      dialog.close();
      location.reload();
    } catch (err) {
      formError(form, err.message);
    } finally {
      button.disabled = false;
    }
  });

  document.addEventListener('click', async (e) => {
    const row = e.target.closest('tr[data-channel]');
    if (!row) return;
    if (e.target.closest('[data-edit]')) show(row);
    else if (e.target.closest('[data-links]')) showLinks(row);
    else if (e.target.closest('[data-copy-url]')) copy(row.dataset.playUrl);
    else if (e.target.closest('[data-archive]')) {
      // Recording keeps the channel's engine session open all day: say so before.
      const now = row.dataset.archiveDays;
      const answer = prompt('Record "' + row.dataset.name + '" for catch-up: days to keep (0 = never, empty = as its category). ' +
        'A recorded channel keeps its engine session open with no viewers, which costs the engine\'s bandwidth.', now === '0' ? '1' : now);
      if (answer === null) return;
      const days = answer.trim() === '' ? null : Number(answer);
      if (days !== null && !(Number.isInteger(days) && days >= 0)) { toast('Days must be a whole number', 'error'); return; }
      try {
        const r = await api('PUT', '/api/channels/' + row.dataset.id + '/archive', { days });
        toast(r.days > 0 ? 'Recording for ' + r.days + ' days' : 'Not recorded');
        setTimeout(() => location.reload(), 600);
      } catch (err) {
        toast('Catch-up failed: ' + err.message, 'error');
      }
    }
    else if (e.target.closest('[data-delete]')) {
      if (!confirm('Delete the channel "' + row.dataset.name + '"? A source that still lists it will add it again.')) return;
      try {
        await api('DELETE', '/api/channels/' + row.dataset.id);
        row.remove();
        toast('Channel deleted');
      } catch (err) {
        toast('Delete failed: ' + err.message, 'error');
      }
    }
  });

  // A channel's links: listed with their health, added, removed, moved.
  const linksDialog = document.querySelector('[data-links-dialog]');
  const linksForm = document.querySelector('[data-links-form]');
  const linksBody = linksDialog.querySelector('[data-links-rows]');
  let linksOf = null; // the row whose links are shown
  let linksChanged = false;

  function when(t, title) {
    return t ? el('span', { title: fmtTime(t) }, title + ' ' + fmtAgo(t) + ' ago') : null;
  }

  function health(l) {
    const h = l.health || {};
    const badges = [];
    if (l.cooling) badges.push(el('span', { class: 'badge badge-warn', title: 'failed recently: tried after the others' }, 'cooling'));
    if (h.online === true) badges.push(el('span', { class: 'badge badge-ok', title: 'checked ' + fmtTime(h.checked_at) }, 'online'));
    else if (h.online === false) badges.push(el('span', { class: 'badge badge-bad', title: 'checked ' + fmtTime(h.checked_at) }, 'offline'));
    else badges.push(el('span', { class: 'badge' }, 'unchecked'));
    if (l.manual) badges.push(el('span', { class: 'badge badge-accent', title: 'added by an admin: refreshes keep it' }, 'manual'));
    const lines = [
      el('div', null, badges.flatMap((b) => [b, ' '])),
      el('div', { class: 'muted small' }, when(h.last_success_at, 'played') || 'never played here'),
    ];
    if (h.last_failure_at) {
      lines.push(el('div', { class: 'muted small' }, when(h.last_failure_at, 'failed'),
        h.failures ? ' (' + h.failures + ' in a row)' : '', h.last_error ? ': ' + h.last_error : ''));
    }
    return lines;
  }

  function renderLinks(links) {
    clear(linksBody);
    if (!links.length) {
      linksBody.append(el('tr', null, el('td', { colspan: 4, class: 'muted' }, 'No link: the channel cannot play.')));
    }
    links.forEach((l, i) => {
      const move = (delta) => async () => {
        const order = links.map((x) => x.id);
        const [moved] = order.splice(i, 1);
        order.splice(i + delta, 0, moved);
        try {
          const r = await api('PUT', '/api/channels/' + linksOf.dataset.id + '/links', { order });
          linksChanged = true;
          renderLinks(r.links);
        } catch (err) { formError(linksForm, err.message); }
      };
      const remove = async () => {
        if (!confirm('Remove this link? A source that lists it adds it again at its next refresh.')) return;
        try {
          await api('DELETE', '/api/channels/' + linksOf.dataset.id + '/links/' + l.id);
          linksChanged = true;
          await loadLinks();
        } catch (err) { formError(linksForm, err.message); }
      };
      linksBody.append(el('tr', { 'data-link': true, 'data-link-id': l.id },
        el('td', { class: 'num muted' }, String(i + 1)),
        el('td', null, el('div', { class: 'mono small' }, l.value), el('div', { class: 'muted small' }, l.kind.replace('_', ' '))),
        el('td', null, health(l)),
        el('td', { class: 'actions' },
          el('button', { type: 'button', class: 'btn btn-sm', 'data-link-up': true, disabled: i === 0, title: 'Move up', onclick: move(-1) }, '↑'),
          el('button', { type: 'button', class: 'btn btn-sm', 'data-link-down': true, disabled: i === links.length - 1, title: 'Move down', onclick: move(1) }, '↓'),
          el('button', { type: 'button', class: 'btn btn-sm btn-danger-ghost', 'data-link-remove': true, onclick: remove }, 'Remove'))));
    });
  }

  async function loadLinks() {
    const r = await api('GET', '/api/channels/' + linksOf.dataset.id + '/links');
    renderLinks(r.links || []);
  }

  async function showLinks(row) {
    linksOf = row;
    linksChanged = false;
    linksForm.reset();
    linksDialog.querySelector('[data-links-title]').textContent = row.dataset.name;
    clear(linksBody);
    openDialog(linksDialog);
    try { await loadLinks(); } catch (err) { formError(linksForm, err.message); }
  }

  linksForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const stream = linksForm.elements.stream.value.trim();
    if (!stream) return;
    const button = linksForm.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await api('POST', '/api/channels/' + linksOf.dataset.id + '/links', { stream });
      linksChanged = true;
      linksForm.reset();
      formError(linksForm, '');
      await loadLinks();
      toast('Link added');
    } catch (err) {
      formError(linksForm, err.message);
    } finally {
      button.disabled = false;
    }
  });

  // The list shows each channel's first link and count: fresh after a change.
  linksDialog.addEventListener('close', () => { if (linksChanged) location.reload(); });

  // Availability check: start it, then follow its progress until it ends.
  const card = document.querySelector('[data-check]');
  const bar = document.querySelector('[data-check-bar]');
  const text = document.querySelector('[data-check-text]');
  const startBtn = document.querySelector('[data-check-start]');
  let stopPolling = null;

  function render(p) {
    if (!p || typeof p !== 'object') return false;
    const total = Number(p.total) || 0;
    const done = Number(p.done ?? p.checked ?? 0) || 0;
    const running = p.running === true || p.state === 'running';
    card.hidden = false;
    bar.max = Math.max(total, 1);
    bar.value = Math.min(done, bar.max);
    const parts = [done + ' of ' + total + ' checked'];
    if (p.online !== undefined) parts.push(p.online + ' online');
    if (p.offline !== undefined) parts.push(p.offline + ' offline');
    text.textContent = (running ? 'Running: ' : 'Finished: ') + parts.join(' · ');
    startBtn.disabled = running;
    return running;
  }

  async function follow() {
    const p = await api('GET', '/api/channels/check');
    const running = render(p);
    if (!running && stopPolling) {
      stopPolling();
      stopPolling = null;
    }
  }

  startBtn.addEventListener('click', async () => {
    startBtn.disabled = true;
    try {
      render(await api('POST', '/api/channels/check'));
      toast('Availability check started');
    } catch (err) {
      if (err.status === 409) { toast('A check is already running'); render(err.data && err.data.progress); }
      else { toast('Could not start the check: ' + err.message, 'error'); startBtn.disabled = false; return; }
    }
    if (!stopPolling) stopPolling = poll(follow, 1000);
  });

  // A check started elsewhere (or before a reload) is shown too.
  api('GET', '/api/channels/check').then((p) => {
    if (p && (p.running === true || p.state === 'running')) {
      render(p);
      stopPolling = poll(follow, 1000);
    }
  }).catch(() => {});
});
