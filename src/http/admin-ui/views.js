// The page's views; each builds its frame once and refreshes its data in place, so typing is never lost.

import { AdminError, api } from './api.js';
import { sparkline } from './chart.js';
import { ago, h, json, ms, table, time } from './dom.js';

const enc = encodeURIComponent;
const HISTORY_MS = 10 * 60_000;
/** The kinds the engine hosts (src/engine/kinds.ts); the API refuses any other. */
const KINDS = ['user', 'product', 'order', 'coupon'];

/** Overview samples since the page opened, for the charts; kept across views. */
const samples = [];

const actorLink = (kind, id) => h('a', { href: `#/actors/${kind}/${enc(id)}`, class: 'id' }, `${kind} ${id}`);
const orderLink = (id) => h('a', { href: `#/orders/${enc(id)}`, class: 'id' }, id);
const badge = (text, tone = '') => h('span', { class: `badge ${tone}` }, text);
const card = (title, ...body) => h('section', { class: 'card' }, h('h3', {}, title), ...body);
const figure = (value, unit = '') => h('p', { class: 'figure' }, value, unit ? h('span', { class: 'unit' }, ` ${unit}`) : null);
const replace = (node, ...children) => node.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null));
const fixed = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

/** Rates between two overview samples: batch size, commit latency and cache hit rate over that interval. */
function rates(now, before) {
  const batches = now.journal.batches - (before?.journal.batches ?? 0);
  const lookups = now.cache.hits + now.cache.misses - (before ? before.cache.hits + before.cache.misses : 0);
  return {
    batchEvents: batches > 0 ? (now.journal.events - (before?.journal.events ?? 0)) / batches : 0,
    commitMs: batches > 0 ? ((now.journal.commitSeconds - (before?.journal.commitSeconds ?? 0)) / batches) * 1000 : 0,
    hitRate: lookups > 0 ? ((now.cache.hits - (before?.cache.hits ?? 0)) / lookups) * 100 : 0,
  };
}

function chartOf(key, label) {
  const points = samples.map((s) => [s.at, s[key]]);
  return h('figure', { class: 'chart' }, sparkline(points, label), h('figcaption', { class: 'muted' }, `${label}, last ${Math.round(Math.min(HISTORY_MS, (points.at(-1)?.[0] ?? 0) - (points[0]?.[0] ?? 0)) / 60_000) || '<1'} min`));
}

export function overview() {
  const body = h('div', { class: 'grid' });
  return {
    title: 'Overview',
    node: h('div', {}, h('h2', {}, 'Overview'), body),
    async refresh() {
      const o = await api('GET', '/admin/overview');
      // One process alone answers 404 here: then there is no cluster card.
      const cluster = await api('GET', '/admin/cluster').catch((error) => {
        if (error instanceof AdminError && error.status === 404) return undefined;
        throw error;
      });
      const r = rates(o, samples.at(-1)?.raw);
      samples.push({ at: ms(o.at), raw: o, live: o.actors.total, ...r, lagMs: o.eventLoop.p99Seconds * 1000, inFlight: o.http.inFlight, outboxLag: Math.max(0, ...o.outbox.sinks.map((s) => s.lagSeconds)) });
      while (samples.length > 0 && samples[0].at < ms(o.at) - HISTORY_MS) samples.shift();
      const share = o.actors.cap > 0 ? (o.actors.total / o.actors.cap) * 100 : 0;
      replace(
        body,
        card(
          'Live actors',
          figure(o.actors.total.toLocaleString('en'), `of ${o.actors.cap.toLocaleString('en')} (${fixed(share)}%)`),
          h('p', { class: 'muted', 'data-testid': 'live-by-kind' }, Object.entries(o.actors.live).map(([k, n]) => `${k} ${n}`).join(' · ')),
          chartOf('live', 'live actors'),
        ),
        card('Journal batches', figure(fixed(r.batchEvents), 'events per batch'), figure(fixed(r.commitMs, 2), 'ms per commit'), h('p', { class: 'muted' }, `backlog ${o.journal.backlogEvents} events · ${o.journal.failedBatches} failed batches since start`), chartOf('commitMs', 'ms per commit')),
        card('Event loop', figure(fixed(o.eventLoop.p99Seconds * 1000, 1), 'ms lag (p99)'), h('p', { class: 'muted' }, `now ${fixed(o.eventLoop.lagSeconds * 1000, 1)} ms`), chartOf('lagMs', 'event-loop lag p99 ms')),
        card('Requests in flight', figure(o.http.inFlight), chartOf('inFlight', 'requests in flight')),
        card('Read cache', figure(fixed(r.hitRate), '% hits'), h('p', { class: 'muted' }, `${o.cache.entries} entries · ${o.cache.hits} hits, ${o.cache.misses} misses since start`), chartOf('hitRate', 'cache hit %')),
        h(
          'section',
          { class: 'card wide2' },
          h('h3', {}, 'Outbox'),
          h('p', {}, h('a', { href: '#/dead-letters' }, `${o.outbox.deadLetters} dead letters`)),
          table(
            ['sink', 'connection', 'breaker', 'lag', 'delivered', 'failed attempts'],
            o.outbox.sinks.map((s) => [s.sink, s.connection, badge(s.breaker, s.breaker === 'closed' ? 'ok' : 'bad'), `${fixed(s.lagSeconds)} s`, s.delivered, s.failedAttempts]),
            'No sink configured: events go to the log (set NATS_URL or DATA_PLATFORM_URL).',
          ),
          o.outbox.sinks.length > 0 ? chartOf('outboxLag', 'outbox lag s') : null,
        ),
        cluster ? clusterCard(cluster) : null,
        h(
          'section',
          { class: 'card wide' },
          h('h3', {}, 'Deepest mailboxes'),
          table(
            ['actor', 'messages waiting', 'sequence', 'last activity'],
            o.actors.deepestMailboxes.map((a) => [actorLink(a.kind, a.id), a.mailboxDepth, a.sequenceNr, ago(a.lastActivity)]),
            'No messages waiting in any mailbox.',
          ),
        ),
      );
    },
  };
}

/** The members of the cluster, the shards each owns, and which this page's process is. */
function clusterCard(c) {
  const byOwner = new Map();
  for (const [shard, node] of Object.entries(c.owners)) byOwner.set(node, [...(byOwner.get(node) ?? []), Number(shard)]);
  const unowned = c.shards - Object.keys(c.owners).length;
  return h(
    'section',
    { class: 'card wide', 'data-testid': 'cluster' },
    h('h3', {}, 'Cluster'),
    h('p', { class: 'muted' }, `this page reads ${c.node} · ${c.members.length} members · ${c.shards} shards`, unowned > 0 ? h('span', {}, ' · ', badge(`${unowned} without an owner`, 'bad')) : null),
    table(
      ['member', 'shards owned', 'shards'],
      c.members.map((m) => [m.node === c.node ? h('strong', {}, m.node) : m.node, m.shardsOwned, h('span', { class: 'muted' }, (byOwner.get(m.node) ?? []).sort((a, b) => a - b).join(' '))]),
      'No member holds a shard yet.',
    ),
  );
}

export function actors({ go, refreshNow }) {
  const kind = h('select', { name: 'kind', 'aria-label': 'kind', onchange: () => refreshNow() }, KINDS.map((k) => h('option', { value: k }, k)));
  const id = h('input', { name: 'id', placeholder: 'id', 'aria-label': 'id', required: true, size: 40 });
  const form = h('form', { class: 'search', onsubmit: (e) => (e.preventDefault(), go(`/actors/${kind.value}/${enc(id.value.trim())}`)) }, kind, id, h('button', { type: 'submit' }, 'Open'));
  const list = h('div');
  return {
    title: 'Actors',
    node: h('div', {}, h('h2', {}, 'Actors'), h('p', { class: 'muted' }, 'Any actor by kind and id, live or not: its journal is read, and its state asked through its mailbox.'), form, h('h3', {}, 'Live actors of that kind, most recently used first'), list),
    async refresh() {
      // The API lists the least recently used first: the most recent are on its last page.
      const { total } = await api('GET', `/admin/actors?limit=1&kind=${kind.value}`);
      const page = await api('GET', `/admin/actors?offset=${Math.max(0, total - 100)}&limit=100&kind=${kind.value}`);
      const recent = page.items.slice().reverse();
      replace(list, h('p', { class: 'muted' }, `${page.total} live ${kind.value} actors`), table(['actor', 'messages waiting', 'sequence', 'last activity'], recent.map((a) => [actorLink(a.kind, a.id), a.mailboxDepth, a.sequenceNr, ago(a.lastActivity)]), 'No live actors.'));
    },
  };
}

export function actor({ params: [kind, id], notify }) {
  const state = h('div', { class: 'state' });
  const events = h('div', { class: 'events' });
  const more = h('button', { type: 'button', hidden: true }, 'Older events');
  let pages = 1;
  let inspected = false;
  const inspect = async () => {
    const i = await api('GET', `/admin/actors/${kind}/${enc(id)}`);
    inspected = true;
    replace(
      state,
      h(
        'dl',
        { class: 'facts' },
        ['sequence', i.sequenceNr, 'committed sequence', i.committedSequenceNr, 'messages waiting', i.mailboxDepth, 'appends awaiting commit', i.pendingAppends, 'last activity', `${time(i.lastActivity)} (${ago(i.lastActivity)})`].map((x, n) => h(n % 2 ? 'dd' : 'dt', {}, x)),
      ),
      h('div', { class: 'two' }, h('div', {}, h('h4', {}, 'Committed state'), json(i.committed)), h('div', {}, h('h4', {}, 'Pending state'), json(i.pending))),
    );
  };
  const act = (what, label) => async () => {
    try {
      const answer = await api('POST', `/admin/actors/${kind}/${enc(id)}/${what}`);
      if (what === 'passivate') {
        replace(state, h('p', { class: 'muted' }, 'Passivated: the actor is not live any more. Asking for its state again activates it from the journal.'));
        notify(`${kind} ${id} passivated`);
      } else notify(`${label}: snapshot written at sequence ${answer.sequenceNr}`);
    } catch (error) {
      notify(`${label} refused: ${error.message}`, 'bad');
    }
  };
  more.addEventListener('click', async () => {
    pages++;
    await loadEvents();
  });
  const loadEvents = async () => {
    let cursor;
    const rows = [];
    for (let n = 0; n < pages; n++) {
      const page = await api('GET', `/admin/actors/${kind}/${enc(id)}/events?limit=20${cursor ? `&cursor=${cursor}` : ''}`);
      rows.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    more.hidden = !cursor;
    replace(events, table(['seq', 'event', 'appended', 'batch', 'data'], rows.map((e) => [e.sequenceNr, e.type, time(e.at), e.batch ?? '—', h('code', {}, JSON.stringify(e.event))])));
  };
  const actions = h(
    'p',
    { class: 'actions' },
    h('button', { type: 'button', onclick: () => inspect().catch((e) => notify(e.message, 'bad')) }, 'Ask state again'),
    h('button', { type: 'button', onclick: act('passivate', 'Passivate') }, 'Passivate'),
    h('button', { type: 'button', onclick: act('snapshot', 'Snapshot') }, 'Snapshot now'),
    kind === 'order' ? h('a', { href: `#/orders/${enc(id)}` }, 'Saga timeline') : null,
  );
  return {
    title: `${kind} ${id}`,
    node: h('div', {}, h('h2', {}, `${kind} `, h('span', { class: 'id' }, id)), actions, state, h('h3', {}, 'Events from the journal, newest first'), events, more),
    // The journal is read on every refresh; the state only when opened or asked for, because asking
    // goes through the mailbox and would keep the actor live (or activate it once passivated).
    async refresh() {
      try {
        await loadEvents();
      } catch (error) {
        if (error instanceof AdminError && error.status === 404) {
          replace(state, h('p', { class: 'bad' }, `No ${kind} with id ${id}: the journal holds nothing for it.`));
          replace(events);
          actions.hidden = true;
          return;
        }
        throw error;
      }
      if (!inspected) await inspect();
    },
  };
}

export function orders({ params: [id], go, notify }) {
  const input = h('input', { name: 'order', placeholder: 'order id', 'aria-label': 'order id', required: true, size: 40, value: id ?? '' });
  const form = h('form', { class: 'search', onsubmit: (e) => (e.preventDefault(), go(`/orders/${enc(input.value.trim())}`)) }, input, h('button', { type: 'submit' }, 'Show timeline'));
  const body = h('div');
  return {
    title: id ? `order ${id}` : 'Orders',
    node: h('div', {}, h('h2', {}, "An order's saga"), form, body),
    async refresh() {
      if (!id) return replace(body, h('p', { class: 'muted' }, 'Type an order id, or follow one from the stuck work or the dead letters.'));
      let t;
      try {
        t = await api('GET', `/admin/orders/${enc(id)}/timeline`);
      } catch (error) {
        if (error instanceof AdminError && error.status === 404) return replace(body, h('p', { class: 'bad' }, `No order with id ${id}.`));
        throw error;
      }
      const mid = t.status === 'PAYING' || t.status === 'CANCELLING';
      const start = ms(t.steps[0]?.at ?? t.createdAt);
      replace(
        body,
        h(
          'p',
          { class: 'facts-line' },
          'Status ',
          badge(t.status, t.status === 'PAID' ? 'ok' : t.status === 'FAILED' ? 'bad' : ''),
          ` · user `,
          actorLink('user', t.userId),
          ` · created ${time(t.createdAt)} · updated ${ago(t.updatedAt)} · `,
          actorLink('order', t.id),
          mid ? h('button', { type: 'button', onclick: () => resumeOrder(t.id, notify) }, 'Resume now') : null,
        ),
        h('p', { class: 'muted' }, 'Each durable step, oldest first. Steps with the same batch were committed in one journal transaction (not known on MySQL).'),
        h(
          'ol',
          { class: 'timeline' },
          t.steps.map((s) =>
            h(
              'li',
              { class: s.outcome === 'ok' ? 'ok' : 'bad', 'data-step': s.step },
              h('span', { class: 'when' }, time(s.at), h('span', { class: 'muted' }, ` +${ms(s.at) - start} ms`)),
              h('span', { class: 'step' }, s.step),
              h('span', { class: 'outcome' }, badge(s.outcome, s.outcome === 'ok' ? 'ok' : 'bad')),
              h('span', { class: 'detail' }, s.detail, ' · ', actorLink(s.actor.kind, s.actor.id), ` #${s.sequenceNr}`),
              h('span', { class: 'batch muted' }, s.batch === null ? 'batch —' : `batch ${s.batch}`),
            ),
          ),
        ),
      );
    },
  };
}

async function resumeOrder(id, notify) {
  try {
    const r = await api('POST', `/admin/orders/${enc(id)}/resume`);
    notify(r.resumed ? `order ${id}: saga resumed` : `order ${id} is ${r.status}: nothing to resume`);
  } catch (error) {
    notify(`resume refused: ${error.message}`, 'bad');
  }
}

export function stuck({ query, go, notify }) {
  const olderThan = h('input', { name: 'olderThan', type: 'number', min: 0, value: query.get('olderThan') ?? '60', 'aria-label': 'older than (seconds)' });
  const form = h('form', { class: 'search', onsubmit: (e) => (e.preventDefault(), go(`/stuck?olderThan=${enc(olderThan.value)}`)) }, 'Untouched for at least ', olderThan, ' s ', h('button', { type: 'submit' }, 'Show'));
  const sagas = h('div');
  const claims = h('div');
  const seconds = Number(query.get('olderThan') ?? '60');
  const resumeClaims = async (userId) => {
    try {
      const r = await api('POST', `/admin/users/${enc(userId)}/resume-claims`);
      notify(r.resumed ? `user ${userId}: ${r.openClaims} claim(s) resumed` : `user ${userId} has no open claim`);
    } catch (error) {
      notify(`resume refused: ${error.message}`, 'bad');
    }
  };
  return {
    title: 'Stuck work',
    node: h('div', {}, h('h2', {}, 'Stuck work'), h('p', { class: 'muted' }, 'What the sweeper resumes every SWEEP_INTERVAL_MS; "Resume now" sends the same message at once.'), form, h('h3', {}, 'Orders left paying or cancelling'), sagas, h('h3', {}, 'Coupon claims left open'), claims),
    async refresh() {
      const [o, c] = await Promise.all([api('GET', `/admin/stuck/orders?olderThanSeconds=${seconds}&limit=100`), api('GET', `/admin/stuck/claims?olderThanSeconds=${seconds}&limit=100`)]);
      replace(sagas, table(['order', 'status', 'user', 'total', 'since'], o.items.map((x) => [orderLink(x.id), badge(x.status), actorLink('user', x.userId), x.total, ago(x.updatedAt), h('button', { type: 'button', onclick: () => resumeOrder(x.id, notify) }, 'Resume now')]), 'No order is stuck.'));
      replace(claims, table(['user', 'coupon', 'since'], c.items.map((x) => [actorLink('user', x.userId), h('span', { class: 'id' }, x.couponId), ago(x.updatedAt), h('button', { type: 'button', onclick: () => resumeClaims(x.userId) }, 'Resume now')]), 'No claim is open.'));
    },
  };
}

export function deadLetters({ notify, refreshNow }) {
  const body = h('div');
  const retry = async (d) => {
    try {
      await api('POST', `/admin/dead-letters/${d.id}/retry`);
      notify(`dead letter ${d.id} (${d.type}) delivered to ${d.sink}`);
    } catch (error) {
      notify(`retry of dead letter ${d.id} failed: ${error.message}`, 'bad');
    }
    await refreshNow();
  };
  return {
    title: 'Dead letters',
    node: h('div', {}, h('h2', {}, 'Dead letters'), h('p', { class: 'muted' }, 'Outbox events the relay gave up on after OUTBOX_MAX_ATTEMPTS. A retry makes one attempt; the event leaves the list once its sink has it.'), body),
    async refresh() {
      const page = await api('GET', '/admin/dead-letters?limit=100');
      replace(
        body,
        table(
          ['id', 'event', 'order', 'sink', 'attempts', 'last error', 'failed', ''],
          page.items.map((d) => [d.id, d.type, orderLink(d.orderId), d.sink, d.attempts, h('span', { class: 'error' }, d.lastError ?? '—'), ago(d.failedAt), h('button', { type: 'button', onclick: () => retry(d) }, 'Retry')]),
          'No dead letters.',
        ),
        page.nextCursor ? h('p', { class: 'muted' }, 'Showing the oldest 100.') : null,
      );
    },
  };
}
