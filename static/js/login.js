// Login: keeps the button from being pressed twice while argon2 works.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('login-form');
  if (!form) return;
  form.addEventListener('submit', () => {
    const button = form.querySelector('button[type=submit]');
    if (button) { button.disabled = true; button.textContent = 'Signing in…'; }
  });
});
