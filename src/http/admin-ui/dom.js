// Builds DOM nodes; every value goes in as text, never as markup.

/**
 * h('a', { href: '#/x', class: 'id' }, 'text', child) → an element. `on…` attributes take a
 * listener; a `data-*` or any other attribute is set as is; children are nodes or text.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An instant as the API sends it (ISO 8601) in milliseconds since 1970, for arithmetic. */
export const ms = (instant) => (typeof instant === 'string' ? Date.parse(instant) : instant);

export const time = (instant) => (instant ? new Date(ms(instant)).toISOString().replace('T', ' ').replace('Z', '') : '—');

export function ago(instant) {
  const seconds = Math.max(0, Math.round((Date.now() - ms(instant)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

export const json = (value) => h('pre', { class: 'json' }, JSON.stringify(value, null, 2));

export function table(headings, rows, empty = 'Nothing here.') {
  if (rows.length === 0) return h('p', { class: 'muted empty' }, empty);
  return h('table', {}, h('thead', {}, h('tr', {}, headings.map((x) => h('th', {}, x)))), h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c))))));
}
