// Categories: rename and reorder (PUT /api/categories/{id}) and merge one category
// into another (POST /api/categories/{id}/merge). The list itself is rendered by the
// server and filtered by common.js.
'use strict';

(function () {
  const { api, toast, openDialog, formError } = window.acx;
  const editDialog = document.querySelector('[data-category-dialog]');
  const editForm = document.querySelector('[data-category-form]');
  const mergeDialog = document.querySelector('[data-merge-dialog]');
  const mergeForm = document.querySelector('[data-merge-form]');
  let row = null;

  for (const dialog of [editDialog, mergeDialog]) {
    dialog.querySelector('[data-close]').addEventListener('click', () => dialog.close());
  }

  document.addEventListener('click', async (e) => {
    const archive = e.target.closest('[data-archive]');
    if (archive) {
      const r = archive.closest('tr');
      const now = r.dataset.archiveDays;
      const answer = prompt('Record every channel of "' + r.dataset.name + '" for catch-up: days to keep (empty or 0 = off). ' +
        'Recorded channels keep their engine sessions open with no viewers, which costs the engine\'s bandwidth.', now === '0' ? '1' : now);
      if (answer === null) return;
      const n = answer.trim() === '' ? 0 : Number(answer);
      if (!(Number.isInteger(n) && n >= 0)) { toast('Days must be a whole number', 'error'); return; }
      try {
        await api('PUT', '/api/categories/' + r.dataset.id + '/archive', { days: n > 0 ? n : null });
        toast(n > 0 ? 'Recording for ' + n + ' days' : 'Not recorded');
        setTimeout(() => location.reload(), 600);
      } catch (err) {
        toast('Catch-up failed: ' + err.message, 'error');
      }
      return;
    }
    const button = e.target.closest('[data-edit], [data-merge]');
    if (!button) return;
    row = button.closest('tr');
    if (button.hasAttribute('data-edit')) {
      editForm.elements.name.value = row.dataset.name;
      editForm.elements.sort_order.value = row.dataset.order;
      openDialog(editDialog);
      editForm.elements.name.focus();
    } else {
      mergeDialog.querySelector('[data-merge-name]').textContent = row.dataset.name;
      for (const option of mergeForm.elements.into.options) {
        option.disabled = option.value === row.dataset.id;
      }
      const first = [...mergeForm.elements.into.options].find((o) => !o.disabled);
      if (first) mergeForm.elements.into.value = first.value;
      openDialog(mergeDialog);
    }
  });

  editForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: editForm.elements.name.value.trim() };
    if (editForm.elements.sort_order.value !== '') body.sort_order = Number(editForm.elements.sort_order.value);
    try {
      await api('PUT', '/api/categories/' + row.dataset.id, body);
      editDialog.close();
      toast('Category saved');
      location.reload();
    } catch (err) {
      formError(editForm, err.message);
    }
  });

  mergeForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/api/categories/' + row.dataset.id + '/merge', { into: Number(mergeForm.elements.into.value) });
      mergeDialog.close();
      toast('Categories merged');
      location.reload();
    } catch (err) {
      formError(mergeForm, err.message);
    }
  });
})();
