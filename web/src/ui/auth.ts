/* Sign up and sign in (they need the network; nothing else does). */
import type { App, View } from '../app';
import { field, h } from './dom';

export function authView(app: App, kind: 'signin' | 'signup'): View {
  const email = h('input', { type: kind === 'signup' ? 'email' : 'text', name: 'email', autocomplete: 'username', required: true });
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'nickname', required: true, minlength: 3, maxlength: 30, pattern: '[A-Za-z0-9_.\\-]{3,30}' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: kind === 'signup' ? 'new-password' : 'current-password', required: true, minlength: kind === 'signup' ? 8 : 1 });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, kind === 'signup' ? 'Sign up' : 'Sign in');
  const form = h(
    'form',
    {
      class: 'card auth',
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        submit.disabled = true;
        error.textContent = '';
        const body: Record<string, string> = { email: email.value.trim(), password: password.value };
        if (kind === 'signup') body.username = username.value.trim();
        const msg = await app.signIn(kind, body);
        submit.disabled = false;
        if (msg) error.textContent = msg;
      },
    },
    h('h1', {}, kind === 'signup' ? 'Sign up' : 'Sign in'),
    field('Email', email, kind === 'signin' ? 'or your username' : undefined),
    kind === 'signup' ? field('Username', username, '3–30 letters, digits, _ . -') : null,
    field('Password', password, kind === 'signup' ? 'at least 8 characters' : undefined),
    error,
    submit,
    h('p', {}, kind === 'signup' ? h('a', { href: '#/signin' }, 'I have an account') : h('a', { href: '#/signup' }, 'Create an account')),
  );
  return { el: h('div', { class: 'view' }, form) };
}
