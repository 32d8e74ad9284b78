// The admin page: signs in with the bearer token, routes the fragment (#/view/…) to a view and refreshes it every few seconds.

import { AdminError, api, clearToken, setToken, takeTokenFromUrl, token } from './api.js';
import { h } from './dom.js';
import { actor, actors, deadLetters, orders, overview, stuck } from './views.js';

const REFRESH_MS = 3000;
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const notice = document.getElementById('notice');
const refreshed = document.getElementById('refreshed');
const signOut = document.getElementById('sign-out');

let current;
let timer;
let generation = 0;

function notify(message, tone = 'ok') {
  notice.hidden = false;
  notice.className = tone;
  notice.setAttribute('role', tone === 'bad' ? 'alert' : 'status');
  notice.textContent = message;
}

const go = (path) => {
  location.hash = `#${path}`;
};

/** What a refused or failed call means to the operator; a refused token also ends the session. */
function failed(error) {
  if (error instanceof AdminError && (error.status === 401 || error.status === 403)) return signIn(explain(error));
  notify(error instanceof AdminError ? `${error.code}: ${error.message}` : String(error), 'bad');
}

const explain = (error) =>
  error.status === 401
    ? 'The engine refused this token (401 UNAUTHORIZED). Check the value of ADMIN_TOKEN and type it again.'
    : 'The admin API is off on this engine (403 ADMIN_DISABLED): start it with ADMIN_TOKEN set.';

function route() {
  const [path, search] = location.hash.replace(/^#\/?/, '').split('?');
  const [view, ...rest] = (path ?? '').split('/');
  const params = rest.map((p) => decodeURIComponent(p));
  const query = new URLSearchParams(search ?? '');
  const context = { params, query, go, notify, refreshNow: () => refresh(generation) };
  switch (view) {
    case 'actors':
      return params.length >= 2 ? ['actors', actor(context)] : ['actors', actors(context)];
    case 'orders':
      return ['orders', orders(context)];
    case 'stuck':
      return ['stuck', stuck(context)];
    case 'dead-letters':
      return ['dead-letters', deadLetters(context)];
    default:
      return ['overview', overview(context)];
  }
}

async function refresh(mine) {
  if (!current || mine !== generation) return;
  try {
    await current.refresh();
    if (mine === generation) refreshed.textContent = `refreshed ${new Date().toLocaleTimeString('en-GB')}`;
  } catch (error) {
    if (mine === generation) failed(error);
  }
}

function show() {
  if (!token()) return signIn();
  clearInterval(timer);
  const mine = ++generation;
  const [name, view] = route();
  current = view;
  notice.hidden = true;
  nav.hidden = false;
  signOut.hidden = false;
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('current', link.dataset.view === name);
  document.title = `${view.title} · Order engine admin`;
  main.replaceChildren(view.node);
  void refresh(mine);
  timer = setInterval(() => {
    if (!document.hidden) void refresh(mine);
  }, REFRESH_MS);
}

/** The sign-in form; nothing the API holds is shown until a token has been accepted. */
function signIn(problem) {
  clearToken();
  clearInterval(timer);
  generation++;
  current = undefined;
  nav.hidden = true;
  signOut.hidden = true;
  refreshed.textContent = '';
  notice.hidden = true;
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, 'aria-label': 'admin token', placeholder: 'ADMIN_TOKEN', size: 40 });
  const error = h('p', { class: 'bad', role: 'alert', id: 'sign-in-error' }, problem ?? '');
  const form = h(
    'form',
    {
      class: 'sign-in',
      onsubmit: async (e) => {
        e.preventDefault();
        setToken(input.value);
        try {
          await api('GET', '/admin/overview');
        } catch (refused) {
          if (refused instanceof AdminError && (refused.status === 401 || refused.status === 403)) return signIn(explain(refused));
          clearToken();
          error.textContent = `The engine could not be asked: ${refused.message}`;
          return;
        }
        show();
      },
    },
    h('h2', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'The admin API takes the bearer token set in ADMIN_TOKEN. It is kept in this tab only (sessionStorage) until you sign out or close it.'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  main.replaceChildren(form);
  input.focus();
}

signOut.addEventListener('click', () => signIn());
window.addEventListener('hashchange', show);
takeTokenFromUrl();
show();
