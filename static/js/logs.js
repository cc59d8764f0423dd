// Logs: the recent (already redacted) lines, filtered by level and text, followed
// live with ?after=N.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, clear, poll } = window.acx;
  const form = document.querySelector('[data-log-filters]');
  const view = document.querySelector('[data-log-view]');
  const status = document.querySelector('[data-log-status]');
  let after = 0;
  const MAX_LINES = 2000; // lines kept in the page: enough to scroll, light for the DOM

  function params() {
    const p = new URLSearchParams();
    p.set('after', String(after));
    if (form.elements.level.value) p.set('level', form.elements.level.value);
    if (form.elements.q.value.trim()) p.set('q', form.elements.q.value.trim());
    return p.toString();
  }

  function linesOf(data) {
    if (Array.isArray(data)) return data;
    return (data && (data.lines || data.entries)) || [];
  }

  async function load() {
    if (!form.elements.follow.checked && after > 0) return;
    let data;
    try {
      data = await api('GET', '/api/logs/tail?' + params());
    } catch (e) {
      status.textContent = 'unavailable: ' + e.message;
      throw e;
    }
    const lines = linesOf(data);
    const atBottom = view.scrollTop + view.clientHeight >= view.scrollHeight - 20;
    for (const l of lines) {
      const text = typeof l === 'string' ? l : String(l.text || l.line || l.message || JSON.stringify(l));
      const level = typeof l === 'object' && l.level ? String(l.level).toUpperCase() : '';
      view.append(el('div', { class: 'log-line log-' + level }, text));
      if (typeof l === 'object' && Number(l.seq) > after) after = Number(l.seq);
    }
    if (data && Number(data.last_seq || data.next) > after) after = Number(data.last_seq || data.next);
    while (view.childElementCount > MAX_LINES) view.firstElementChild.remove();
    if (!view.childElementCount) view.append(el('div', { class: 'log-line muted', dataset: { empty: '1' } }, 'No line matches.'));
    else if (lines.length) {
      const empty = view.querySelector('[data-empty]');
      if (empty) empty.remove();
    }
    if (atBottom || lines.length === view.childElementCount) view.scrollTop = view.scrollHeight;
    status.textContent = view.childElementCount + ' lines · ' + new Date().toLocaleTimeString();
  }

  let timer = null;
  function restart() {
    after = 0;
    clear(view);
    load().catch(() => {});
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); restart(); });
  form.elements.level.addEventListener('change', restart);
  form.elements.q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(restart, 300); });
  poll(load, 2000);
});
