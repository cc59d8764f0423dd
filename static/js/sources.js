// Sources and EPG: add, edit, enable/disable, delete, refresh now; guide coverage.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, clear, toast, openDialog, formError } = window.acx;
  const dialog = document.querySelector('[data-source-dialog]');
  const form = document.querySelector('[data-source-form]');
  const base = { channels: '/api/scraper/sources', epg: '/api/epg/sources' };
  const trigger = { channels: '/api/scraper/trigger', epg: '/api/epg/update' };
  let kind = 'channels';
  let editing = null;

  function show(k, row) {
    kind = k;
    editing = row;
    form.reset();
    const what = k === 'channels' ? 'playlist' : 'guide';
    dialog.querySelector('[data-dialog-title]').textContent = (row ? 'Edit ' : 'Add ') + what;
    for (const n of form.querySelectorAll('[data-only-epg]')) n.hidden = k !== 'epg';
    form.elements.url.placeholder = k === 'channels' ? 'https://…/playlist.m3u' : 'https://…/guide.xml.gz';
    if (row) {
      const d = row.dataset;
      form.elements.name.value = d.name;
      form.elements.url.value = d.url;
      form.elements.enabled.checked = d.enabled === 'true';
      form.elements.priority.value = d.priority || '0';
      form.elements.refresh_hours.value = d.refreshSecs ? String(Number(d.refreshSecs) / 3600) : '';
    }
    openDialog(dialog);
    form.elements.name.focus();
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = form.elements;
    const body = { name: f.name.value.trim(), url: f.url.value.trim(), enabled: f.enabled.checked };
    if (f.refresh_hours.value !== '') body.refresh_secs = Math.round(Number(f.refresh_hours.value) * 3600);
    if (kind === 'epg') body.priority = parseInt(f.priority.value || '0', 10) || 0;
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      if (editing) await api('PUT', base[kind] + '/' + editing.dataset.id, body);
      else await api('POST', base[kind], body);
      dialog.close();
      toast(editing ? 'Source saved' : 'Source added; its first refresh is under way');
      setTimeout(() => location.reload(), 600);
    } catch (err) {
      formError(form, err.message);
    } finally {
      button.disabled = false;
    }
  });

  document.addEventListener('click', async (e) => {
    const section = e.target.closest('[data-source-kind]');
    if (!section) return;
    const k = section.dataset.sourceKind;
    if (e.target.closest('[data-add-source]')) { show(k, null); return; }
    if (e.target.closest('[data-refresh-all]')) {
      try {
        await api('POST', trigger[k]);
        toast('Refresh queued: results appear here when it ends');
      } catch (err) { toast(err.message, 'error'); }
      return;
    }
    const row = e.target.closest('tr[data-source]');
    if (!row) return;
    const d = row.dataset;
    if (e.target.closest('[data-edit]')) show(k, row);
    else if (e.target.closest('[data-refresh]')) {
      const b = e.target.closest('[data-refresh]');
      b.disabled = true;
      b.textContent = 'Refreshing…';
      try {
        await api('POST', trigger[k] + '?wait=true', { source_id: Number(d.id) });
        toast(d.name + ' refreshed');
        location.reload();
      } catch (err) {
        toast(d.name + ': ' + err.message, 'error');
        b.disabled = false;
        b.textContent = 'Refresh now';
      }
    } else if (e.target.closest('[data-toggle]')) {
      try {
        await api('PUT', base[k] + '/' + d.id, { enabled: d.enabled !== 'true' });
        location.reload();
      } catch (err) { toast(err.message, 'error'); }
    } else if (e.target.closest('[data-delete]')) {
      if (!confirm('Delete the source "' + d.name + '"?')) return;
      try {
        await api('DELETE', base[k] + '/' + d.id);
        toast('Source deleted');
        location.reload();
      } catch (err) { toast(err.message, 'error'); }
    }
  });

  (async () => {
    const text = document.querySelector('[data-coverage-text]');
    const list = clear(document.querySelector('[data-coverage-list]'));
    try {
      const r = await api('GET', '/api/epg/report');
      const missing = Number(r.without_guide) || 0;
      text.textContent = missing === 0 ? 'every channel has a guide' : missing + ' channel' + (missing === 1 ? '' : 's') + ' without a guide';
      for (const c of (r.channels || []).slice(0, 60)) list.append(el('li', {}, c.name));
      if ((r.channels || []).length > 60) list.append(el('li', { class: 'muted' }, '… and ' + (r.channels.length - 60) + ' more'));
    } catch (err) {
      text.textContent = 'unavailable: ' + err.message;
    }
  })();
});
