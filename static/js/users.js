// Users: create, edit, enable/disable, delete, reset password; per user the
// playlist, guide and Xtream details ready to copy, and their open streams.
// Passwords are stored only as hashes, so complete links with the password are
// shown once, right after the admin sets it.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const { api, el, clear, copy, toast, openDialog, formError, randomPassword, fmtAgo, fmtBytes } = window.acx;
  const origin = document.body.dataset.origin || location.origin;
  const dialog = document.querySelector('[data-user-dialog]');
  const form = document.querySelector('[data-user-form]');
  const resetDialog = document.querySelector('[data-reset-dialog]');
  const resetForm = document.querySelector('[data-reset-form]');
  const credsDialog = document.querySelector('[data-creds-dialog]');
  let editing = null;
  let resetting = null;

  const enc = encodeURIComponent;
  function details(username, password) {
    return [
      ['M3U playlist', origin + '/get.php?username=' + enc(username) + '&password=' + enc(password) + '&type=m3u_plus&output=ts'],
      ['XMLTV guide', origin + '/xmltv.php?username=' + enc(username) + '&password=' + enc(password)],
      ['Xtream server', origin],
      ['Xtream user', username],
      ['Xtream password', password],
    ];
  }

  function showCreds(username, password) {
    credsDialog.querySelector('[data-creds-name]').textContent = username;
    const box = clear(credsDialog.querySelector('[data-creds-fields]'));
    for (const [label, value] of details(username, password)) {
      const b = el('button', { type: 'button', class: 'btn btn-sm' }, 'Copy');
      b.addEventListener('click', () => copy(value));
      box.append(el('div', { class: 'copy-field' }, el('span', { class: 'copy-label' }, label), el('code', {}, value), b));
    }
    openDialog(credsDialog);
  }
  credsDialog.addEventListener('click', (e) => {
    if (e.target.closest('[data-close-reload]')) { credsDialog.close(); location.reload(); }
  });

  function show(row) {
    editing = row;
    form.reset();
    dialog.querySelector('[data-dialog-title]').textContent = row ? 'Edit ' + row.dataset.username : 'Add user';
    for (const n of form.querySelectorAll('[data-only-new]')) n.hidden = !!row;
    for (const n of form.querySelectorAll('[data-only-edit]')) n.hidden = !row;
    form.elements.username.required = !row;
    form.elements.password.required = !row;
    if (row) {
      const d = row.dataset;
      form.elements.max_connections.value = d.maxConnections;
      form.elements.expires.value = d.expires;
      form.elements.notes.value = d.notes;
      form.elements.is_trial.checked = d.trial === 'true';
      form.elements.enabled.checked = d.enabled === 'true';
    } else {
      form.elements.password.value = randomPassword();
    }
    openDialog(dialog);
    (row ? form.elements.max_connections : form.elements.username).focus();
  }

  document.querySelector('[data-add-user]').addEventListener('click', () => show(null));
  for (const b of document.querySelectorAll('[data-generate]')) {
    b.addEventListener('click', () => { b.closest('form').elements.password.value = randomPassword(); });
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = form.elements;
    const body = {
      max_connections: Math.max(0, parseInt(f.max_connections.value || '0', 10) || 0),
      // The last day the account works (in the server's time zone), or never.
      expires: f.expires.value || null,
      is_trial: f.is_trial.checked,
      notes: f.notes.value.trim(),
    };
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      if (editing) {
        body.enabled = f.enabled.checked;
        await api('PUT', '/api/users/' + editing.dataset.id, body);
        dialog.close();
        toast('User saved');
        location.reload();
      } else {
        body.username = f.username.value.trim();
        body.password = f.password.value;
        body.is_admin = f.is_admin.checked;
        await api('POST', '/api/users', body);
        dialog.close();
        showCreds(body.username, body.password);
      }
    } catch (err) {
      formError(form, err.message);
    } finally {
      button.disabled = false;
    }
  });

  // Password reset: PUT /api/users/{id} with a password; an API that keeps resets
  // apart answers 4xx to that, so /password is tried next.
  async function setPassword(id, password) {
    try {
      await api('PUT', '/api/users/' + id, { password });
    } catch (err) {
      if (![400, 404, 405, 422].includes(err.status) || /password/i.test(err.message)) throw err;
      await api('POST', '/api/users/' + id + '/password', { password });
    }
  }

  resetForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const password = resetForm.elements.password.value;
    const button = resetForm.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await setPassword(resetting.dataset.id, password);
      resetDialog.close();
      showCreds(resetting.dataset.username, password);
    } catch (err) {
      formError(resetForm, err.message);
    } finally {
      button.disabled = false;
    }
  });

  document.addEventListener('click', async (e) => {
    const copyBtn = e.target.closest('[data-copy]');
    if (copyBtn) {
      const code = copyBtn.parentElement.querySelector('[data-copy-text]');
      if (code) copy(code.textContent);
      return;
    }
    const row = e.target.closest('tr[data-user]');
    if (!row) return;
    const d = row.dataset;
    if (e.target.closest('[data-edit]')) show(row);
    else if (e.target.closest('[data-details]')) {
      const det = document.querySelector('[data-details-for="' + CSS.escape(d.id) + '"]');
      det.hidden = !det.hidden;
      if (!det.hidden) loadStreams(d.username, det.querySelector('[data-user-streams]'));
    } else if (e.target.closest('[data-reset]')) {
      resetting = row;
      resetForm.reset();
      resetDialog.querySelector('[data-reset-name]').textContent = d.username;
      resetForm.elements.password.value = randomPassword();
      openDialog(resetDialog);
    } else if (e.target.closest('[data-toggle]')) {
      const enable = d.enabled !== 'true';
      try {
        await api('PUT', '/api/users/' + d.id, { enabled: enable });
        toast(d.username + (enable ? ' enabled' : ' disabled'));
        location.reload();
      } catch (err) { toast(err.message, 'error'); }
    } else if (e.target.closest('[data-delete]')) {
      if (!confirm('Delete the account "' + d.username + '"? Its players stop working at once.')) return;
      try {
        await api('DELETE', '/api/users/' + d.id);
        toast(d.username + ' deleted');
        location.reload();
      } catch (err) { toast(err.message, 'error'); }
    }
  });

  async function loadStreams(username, box) {
    clear(box).append(el('p', { class: 'muted small' }, 'Loading open streams…'));
    try {
      const data = await api('GET', '/api/aceproxy/stats');
      const rows = [];
      for (const s of (data && data.streams) || []) {
        for (const v of s.viewers || []) {
          if (v.user === username) rows.push({ s, v });
        }
      }
      clear(box);
      if (!rows.length) { box.append(el('p', { class: 'muted small' }, 'No open stream.')); return; }
      box.append(el('div', { class: 'table-wrap' }, el('table', { class: 'table' },
        el('thead', {}, el('tr', {}, ['Stream', 'IP', 'Player', 'For', 'Sent'].map((h) => el('th', {}, h)))),
        el('tbody', {}, rows.map(({ s, v }) => el('tr', {},
          el('td', { class: 'mono small' }, String(s.stream_id).slice(0, 12) + '…'),
          el('td', { class: 'mono' }, v.ip || ''),
          el('td', { class: 'small ua' }, v.user_agent || ''),
          el('td', {}, fmtAgo(v.since)),
          el('td', {}, fmtBytes(v.bytes_sent))))))));
    } catch (err) {
      clear(box).append(el('p', { class: 'muted small' }, 'Open streams unavailable: ' + err.message));
    }
  }
});
