// The admin API as the page calls it: the bearer token kept in sessionStorage, errors as AdminError.

const KEY = 'orderengine.adminToken';

/** An answer other than 2xx, with the API's stable code and message. */
export class AdminError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const token = () => sessionStorage.getItem(KEY);
export const setToken = (value) => sessionStorage.setItem(KEY, value);
export const clearToken = () => sessionStorage.removeItem(KEY);

/**
 * For scripted use the token may come once in the fragment (#token=…): it is kept like a typed
 * one and taken out of the address bar and the history at once, so it is not shared with a link.
 */
export function takeTokenFromUrl() {
  const match = /^#token=([^&]*)(?:&(.*))?$/.exec(location.hash);
  if (!match) return;
  setToken(decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}#${match[2] ?? '/overview'}`);
}

export async function api(method, path) {
  let response;
  try {
    response = await fetch(path, { method, headers: { authorization: `Bearer ${token() ?? ''}` }, cache: 'no-store' });
  } catch {
    throw new AdminError(0, 'UNREACHABLE', 'the engine does not answer');
  }
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new AdminError(response.status, body?.error ?? 'HTTP_' + response.status, body?.message ?? response.statusText);
  return body;
}
