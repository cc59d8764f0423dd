// Shared helpers of every dashboard page: API calls with the CSRF token, safe DOM
// building (textContent only: data never becomes HTML), toasts, copy, dialogs.
'use strict';

(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute('content') : '';

  class ApiError extends Error {
    constructor(message, status, data) {
      super(message);
      this.status = status;
      this.data = data;
    }
  }

  // fetch() against the admin API with the session cookie; state-changing methods
  // carry the CSRF token. A 401 means the session ended: back to the login form.
  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (!['GET', 'HEAD'].includes(method)) headers['X-CSRF-Token'] = csrf;
    const opts = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, opts);
    } catch (e) {
      throw new ApiError('The server cannot be reached', 0, null);
    }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
    if (r.status === 401) {
      const next = location.pathname + location.search;
      location.assign('/dashboard/login?next=' + encodeURIComponent(next));
      throw new ApiError('Your session ended', 401, data);
    }
    if (!r.ok) {
      const msg = (data && data.error && data.error.message) || (r.status + ' ' + r.statusText);
      throw new ApiError(msg, r.status, data);
    }
    return data;
  }

  // el('td', {class: 'x', dataset: {id: 1}}, 'text', otherNode): strings become
  // text nodes, never markup.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function toast(message, kind) {
    const box = document.querySelector('[data-toasts]');
    if (!box) return;
    const t = el('div', { class: 'toast' + (kind === 'error' ? ' toast-error' : ''), role: 'status' }, message);
    box.append(t);
    setTimeout(() => t.remove(), kind === 'error' ? 7000 : 3500);
  }

  // Clipboard API needs a secure context (https or localhost); a LAN address over
  // plain http falls back to a hidden textarea.
  async function copy(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
      } else {
        const ta = el('textarea', { readonly: true, class: 'sr-only' });
        ta.value = text;
        document.body.append(ta);
        ta.select();
        document.execCommand('copy');
        ta.remove();
      }
      toast('Copied to the clipboard');
    } catch (e) {
      toast('Copy failed: select the text and copy it by hand', 'error');
    }
  }

  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  function fmtBytes(n) {
    n = Number(n) || 0;
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
  }
  function fmtRate(bytesPerSec) {
    const bits = (Number(bytesPerSec) || 0) * 8;
    if (bits >= 1e9) return (bits / 1e9).toFixed(2) + ' Gbit/s';
    if (bits >= 1e6) return (bits / 1e6).toFixed(1) + ' Mbit/s';
    if (bits >= 1e3) return (bits / 1e3).toFixed(0) + ' kbit/s';
    return bits.toFixed(0) + ' bit/s';
  }
  function toDate(t) {
    if (t === null || t === undefined || t === '') return null;
    const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
    return isNaN(d.getTime()) ? null : d;
  }
  function fmtAgo(t) {
    const d = toDate(t);
    if (!d) return '—';
    let s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d';
  }
  function fmtTime(t) {
    const d = toDate(t);
    return d ? d.toLocaleString() : '—';
  }
  // Only http(s) URLs may become an <img src> or a link.
  function safeUrl(u) {
    try {
      const url = new URL(String(u), location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (e) { return null; }
  }

  function formError(form, message) {
    const p = form.querySelector('[data-form-error]');
    if (!p) { toast(message, 'error'); return; }
    p.textContent = message || '';
    p.hidden = !message;
  }

  function openDialog(dialog) {
    const form = dialog.querySelector('form');
    if (form) formError(form, '');
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
  }

  function busy(button, on) {
    if (!button) return;
    button.disabled = on;
  }

  // Polls `fn` every `ms` while the tab is visible; a failure is retried next tick.
  function poll(fn, ms) {
    let timer = null;
    const tick = async () => {
      if (!document.hidden) {
        try { await fn(); } catch (e) { /* shown by fn */ }
      }
      timer = setTimeout(tick, ms);
    };
    tick();
    return () => clearTimeout(timer);
  }

  function randomPassword() {
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
  }

  document.addEventListener('DOMContentLoaded', () => {
    const toggle = document.querySelector('[data-nav-toggle]');
    const nav = document.getElementById('nav');
    if (toggle && nav) {
      toggle.addEventListener('click', () => {
        const open = nav.classList.toggle('open');
        toggle.setAttribute('aria-expanded', String(open));
      });
    }
    for (const input of document.querySelectorAll('[data-filter-table]')) {
      const table = document.getElementById(input.dataset.filterTable);
      input.addEventListener('input', () => {
        const q = input.value.trim().toLowerCase();
        for (const row of table.querySelectorAll('tbody tr[data-row-text]')) {
          row.hidden = q !== '' && !row.dataset.rowText.includes(q);
        }
      });
    }
    for (const d of document.querySelectorAll('dialog')) {
      d.addEventListener('click', (e) => {
        if (e.target.closest('[data-close]')) d.close();
      });
    }
    for (const node of document.querySelectorAll('[data-epoch]')) {
      node.title = fmtTime(Number(node.dataset.epoch));
    }
  });

  window.acx = {
    api, el, clear, toast, copy, fmtBytes, fmtRate, fmtAgo, fmtTime, toDate, safeUrl,
    formError, openDialog, busy, poll, randomPassword, ApiError,
  };
})();
