// Settings: every key with its meaning, value and source (default, file, env,
// database); editable keys get a validated field. Renders whatever shape
// /api/settings answers with, as long as each entry names its key.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, clear, toast } = window.acx;
  const box = document.querySelector('[data-settings]');

  function entries(data) {
    let list = Array.isArray(data) ? data : (data && (data.settings || data.keys || data.items));
    if (!list && data && typeof data === 'object') {
      list = Object.entries(data).map(([key, v]) => (v && typeof v === 'object' && !Array.isArray(v) ? { key, ...v } : { key, value: v }));
    }
    if (!Array.isArray(list)) return [];
    return list.filter((s) => s && typeof s.key === 'string');
  }

  function show(v) {
    if (v === null || v === undefined || v === '') return '(none)';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function hintOf(s) {
    const t = s.type || (s.kind && s.kind.type) || s.kind;
    if (t === 'duration') {
      const fmt = (x) => (x % 3600 === 0 ? x / 3600 + 'h' : x % 60 === 0 ? x / 60 + 'min' : x + 's');
      let h = 'a duration such as 90s, 30m or 6h';
      if (s.min_secs !== undefined && s.max_secs !== undefined) h += ', from ' + fmt(s.min_secs) + ' to ' + fmt(s.max_secs);
      if (s.zero_ok) h += ' (0 = never)';
      return h;
    }
    if (t === 'integer' && s.min !== undefined) return 'a whole number from ' + s.min + ' to ' + s.max;
    if (t === 'optional_url') return 'an http(s) URL, or empty for none';
    if (t === 'time_zone') return 'an IANA time zone, e.g. Europe/Madrid';
    return '';
  }

  function input(s) {
    const t = s.type || (s.kind && s.kind.type) || s.kind;
    const v = s.value;
    if (t === 'bool' || typeof v === 'boolean') {
      const sel = el('select', { name: 'value' }, el('option', { value: 'true' }, 'true'), el('option', { value: 'false' }, 'false'));
      sel.value = String(v === true);
      return sel;
    }
    if (t === 'integer') {
      return el('input', { name: 'value', type: 'number', step: '1', min: s.min, max: s.max, value: show(v) === '(none)' ? '' : v, required: true });
    }
    if (t === 'optional_url') return el('input', { name: 'value', type: 'url', value: v || '', placeholder: 'https://…' });
    return el('input', { name: 'value', value: v === null || v === undefined ? '' : (typeof v === 'object' ? JSON.stringify(v) : String(v)), required: t !== 'optional_url' });
  }

  function parse(s, raw) {
    const t = s.type || (s.kind && s.kind.type) || s.kind;
    if (t === 'bool' || typeof s.value === 'boolean') return raw === 'true';
    if (t === 'integer') return Number(raw);
    if (t === 'optional_url') return raw.trim() === '' ? null : raw.trim();
    return raw.trim();
  }

  function row(s) {
    const editable = s.editable === true || (s.editable === undefined && (s.type || s.kind) !== undefined);
    const source = s.source || s.origin || '';
    const keyCell = el('div', {},
      el('div', { class: 'setting-key' }, s.key),
      el('div', { class: 'setting-doc' }, s.description || s.meaning || s.doc || ''));
    const value = el('div', { class: 'setting-value' },
      el('div', {}, el('code', {}, show(s.value)), ' ', source ? el('span', { class: 'badge' + (source === 'database' ? ' badge-accent' : source === 'env' ? ' badge-warn' : '') }, source) : null,
        s.pending_restart ? el('span', { class: 'badge badge-warn', title: 'running with ' + show(s.running) }, 'restart pending') : null,
        editable && s.restart_required ? el('span', { class: 'badge badge-off', title: 'a change takes effect at the next start' }, 'restart needed') : null));
    if (s.locked_reason) value.append(el('div', { class: 'muted small' }, s.locked_reason));
    if (s.default !== undefined && show(s.default) !== show(s.value)) value.append(el('div', { class: 'muted small' }, 'default: ' + show(s.default)));
    if (editable) {
      const field = input(s);
      const save = el('button', { type: 'submit', class: 'btn btn-sm btn-primary' }, 'Save');
      const msg = el('div', { class: 'small muted' }, hintOf(s));
      if (s.env_var) msg.append(' · env ', el('code', {}, s.env_var));
      const f = el('form', { class: 'setting-form' }, field, save);
      f.addEventListener('submit', async (e) => {
        e.preventDefault();
        save.disabled = true;
        try {
          const r = await api('PUT', '/api/settings/' + encodeURIComponent(s.key), { value: parse(s, field.value) });
          const restart = (r && r.restart_required) || s.restart_required;
          msg.textContent = restart ? 'Saved. Restart acextream to apply it.' : 'Saved.';
          msg.className = 'small alert alert-ok';
          toast(s.key + ' saved');
        } catch (err) {
          msg.textContent = err.message;
          msg.className = 'small alert alert-error';
        } finally {
          save.disabled = false;
        }
      });
      value.append(f, msg);
    }
    return el('div', { class: 'setting' }, keyCell, value);
  }

  (async () => {
    let data;
    try {
      data = await api('GET', '/api/settings');
    } catch (e) {
      clear(box).append(el('p', { class: 'alert alert-error' }, 'Settings unavailable: ' + e.message));
      return;
    }
    const list = entries(data);
    clear(box);
    if (!list.length) { box.append(el('p', { class: 'muted' }, 'No setting reported.')); return; }
    const groups = new Map();
    for (const s of list) {
      const section = s.key.includes('.') ? s.key.split('.')[0] : 'general';
      if (!groups.has(section)) groups.set(section, []);
      groups.get(section).push(s);
    }
    for (const [section, items] of groups) {
      box.append(el('section', { class: 'card setting-group' },
        el('div', { class: 'card-head' }, el('h2', {}, section)),
        items.map(row)));
    }
  })();
});
