// The use-case facade: one typed method per use case, answering results or typed errors.

import { v7 as uuidv7 } from 'uuid';
import { outsideWindow, type CouponTerms, type CouponView } from '../../actors/coupon/index.js';
import type { OrderCoupon, OrderItem, OrderStatus, OrderView } from '../../actors/order/index.js';
import type { ProductView } from '../../actors/product/index.js';
import type { ActorKind } from '../../actors/shared/entity.js';
import { accept, reject, type Rejection, type Result } from '../../actors/shared/result.js';
import type { UserView } from '../../actors/user/index.js';
import type { Cluster, ClusterStatus } from '../cluster/cluster.js';
import type { Config } from '../config.js';
import type { Database } from '../db/connect.js';
import type { Metrics } from '../metrics.js';
import type { AdminQueries, JournalEntryView, OpenClaim, OrderTimeline, StuckOrder } from '../read/admin-queries.js';
import type { ReadCache } from '../read/cache.js';
import type { HeldCouponView, Page, PopularProduct, ReadQueries } from '../read/queries.js';
import type { DeadLetterView, Outbox, RetryOutcome } from '../outbox/outbox.js';
import type { RelayStatus } from '../outbox/relay.js';
import type { Inspection } from './entity.js';
import type { Gauges } from './gauges.js';
import type { CommandOf, ViewOf } from './kinds.js';
import { KnownIds } from '../read/known-ids.js';
import { readFailure } from './read-failure.js';
import type { LiveActorSummary, Registry } from './registry.js';

export interface NewOrder {
  readonly userId: string;
  readonly items: ReadonlyArray<{ readonly productId: string; readonly quantity: number }>;
  readonly couponId?: string;
}

export interface IssuedCoupon {
  readonly couponId: string;
  readonly userId: string;
  readonly status: 'ISSUED';
}

/** What the facade works with; `startEngine` builds them. */
export interface EngineParts {
  readonly config: Config;
  /** For stores beside the engine that keep tables of their own (the answers to Idempotency-Key requests). */
  readonly database: Database;
  readonly registry: Registry;
  readonly reads: ReadQueries;
  /** The admin page's reads over the journal and the read model. */
  readonly admin: AdminQueries;
  readonly cache: ReadCache;
  readonly outbox: Outbox;
  readonly metrics: Metrics | undefined;
  readonly gauges: Gauges | undefined;
  /** In a cluster: this process's membership, for the admin. */
  readonly cluster?: Cluster;
  /** In a cluster: a new order's id, placed in its user's shard so a payment crosses processes only for its products. */
  readonly orderId?: (userId: string, id: string) => string;
  /** Whether the database answers, for readiness. */
  ping(): Promise<boolean>;
  /** Stops the sweeper, commits what the journal holds, closes the outbox, the actors and the database. */
  shutdown(): Promise<void>;
}

/**
 * The engine's use cases, one method each, answering results or typed errors.
 *
 * ```ts
 * const engine = await startEngine(loadConfig(), metrics);
 * const user = await engine.createUser({ name: 'ada', points: 1000 });
 * ```
 */
export class Engine {
  /** True until interrupted sagas and claims have been resumed at start. */
  recovering = true;
  readonly config: Config;
  /** For stores beside the engine that keep tables of their own (the answers to Idempotency-Key requests). */
  readonly database: Database;
  private readonly registry: Registry;
  private readonly reads: ReadQueries;
  private readonly cache: ReadCache;
  /** Ids that exist, so that one never created is answered 404 without activating an actor. */
  private readonly known: KnownIds;
  private closed = false;

  constructor(private readonly parts: EngineParts) {
    this.config = parts.config;
    this.database = parts.database;
    this.registry = parts.registry;
    this.reads = parts.reads;
    this.cache = parts.cache;
    this.known = new KnownIds(parts.database.reads, parts.config.actors.maxLive);
  }

  createUser(input: { name: string; points: number }, id?: string): Promise<Result<UserView>> {
    return this.create('user', { type: 'CreateUser', name: input.name, points: input.points }, id);
  }

  getUser(id: string): Promise<Result<UserView>> {
    return this.read('user', id);
  }

  chargePoints(id: string, amount: number, idempotencyKey?: string): Promise<Result<UserView>> {
    const ref = `charge:${idempotencyKey ?? uuidv7()}`;
    return this.ask('user', id, { type: 'ChargePoints', ref, amount, keyed: idempotencyKey !== undefined });
  }

  listUsers(opts: { cursor?: string; limit: number; name?: string }): Promise<Result<Page<UserView>>> {
    return this.reads.listUsers(opts).then(accept, readFailure);
  }

  userOrders(opts: { userId: string; cursor?: string; limit: number }): Promise<Result<Page<OrderView>>> {
    return this.reads.userOrders(opts).then(accept, readFailure);
  }

  createProduct(input: { name: string; price: number; stock: number }, id?: string): Promise<Result<ProductView>> {
    return this.create('product', { type: 'CreateProduct', ...input }, id);
  }

  getProduct(id: string): Promise<Result<ProductView>> {
    return this.read('product', id);
  }

  restock(id: string, quantity: number, idempotencyKey?: string): Promise<Result<ProductView>> {
    const ref = `restock:${idempotencyKey ?? uuidv7()}`;
    return this.ask('product', id, { type: 'Restock', ref, quantity, keyed: idempotencyKey !== undefined });
  }

  listProducts(opts: { cursor?: string; limit: number; name?: string }): Promise<Result<Page<ProductView>>> {
    return this.reads.listProducts(opts).then(accept, readFailure);
  }

  popularProducts(opts: { days: number; limit: number }): Promise<Result<Page<PopularProduct>>> {
    return this.cache.popularProducts(`${opts.days}:${opts.limit}`, () => this.reads.popularProducts({ ...opts, now: Date.now() })).then(accept, readFailure);
  }

  createCoupon(input: CouponTerms & { quantity: number }, id?: string): Promise<Result<CouponView>> {
    return this.create('coupon', { type: 'CreateCoupon', ...input }, id);
  }

  getCoupon(id: string): Promise<Result<CouponView>> {
    return this.read('coupon', id);
  }

  /** First come, first served: the user actor claims one from the coupon actor, at most once per user. */
  async issueCoupon(couponId: string, userId: string): Promise<Result<IssuedCoupon>> {
    const coupon = await this.getCoupon(couponId);
    if (!coupon.ok) return coupon;
    const claimed = await this.ask('user', userId, { type: 'ClaimCoupon', couponId });
    return claimed.ok ? accept({ couponId, userId, status: 'ISSUED' }) : claimed;
  }

  async userCoupons(opts: { userId: string; cursor?: string; limit: number }): Promise<Result<Page<HeldCouponView>>> {
    const user = await this.getUser(opts.userId);
    if (!user.ok) return user;
    return this.reads.userCoupons(opts).then(accept, readFailure);
  }

  /** Captures each product's price and the coupon's discount now; the user, every product and the coupon must exist. */
  async createOrder(input: NewOrder, newId?: string): Promise<Result<OrderView>> {
    const ids = new Set<string>();
    for (const item of input.items) {
      if (ids.has(item.productId)) return reject('INVALID_ORDER', `product ${item.productId} appears twice`, item.productId);
      ids.add(item.productId);
    }
    const [user, coupon, ...products] = await Promise.all([
      this.getUser(input.userId),
      input.couponId === undefined ? undefined : this.orderCoupon(input.userId, input.couponId),
      ...input.items.map((i) => this.getProduct(i.productId)),
    ]);
    if (!user?.ok) return user ?? reject('NOT_FOUND', `user ${input.userId} not found`);
    if (coupon && !coupon.ok) return coupon;
    const items: OrderItem[] = [];
    for (const [index, product] of products.entries()) {
      const item = input.items[index];
      if (!product || !item) continue;
      if (!product.ok) return product;
      items.push({ productId: item.productId, quantity: item.quantity, unitPrice: product.value.price });
    }
    const id = this.orderIdFor(input.userId, newId ?? uuidv7());
    return this.create(
      'order',
      {
        type: 'CreateOrder',
        userId: input.userId,
        items,
        ttlMs: this.config.orderTtlMs,
        ...(coupon?.ok ? { coupon: coupon.value } : {}),
      },
      id,
    );
  }

  /**
   * The coupon an order will use, if the user holds it unused now. Paying checks again on the
   * user actor, which alone decides: this only spares an order that could never be paid.
   */
  private async orderCoupon(userId: string, couponId: string): Promise<Result<OrderCoupon>> {
    const [coupon, held] = await Promise.all([this.getCoupon(couponId), this.reads.userCouponStatus(userId, couponId).then(accept, readFailure)]);
    if (!coupon.ok) return coupon;
    if (!held.ok) return held;
    const status = held.value;
    if (status === 'USED') return reject('COUPON_ALREADY_USED', `coupon ${couponId} was already used by user ${userId}`);
    if (status !== 'ISSUED') return reject('COUPON_NOT_HELD', `user ${userId} does not hold coupon ${couponId}`);
    const outside = outsideWindow(couponId, coupon.value, Date.now());
    if (outside) return outside;
    return accept({ couponId, discountType: coupon.value.discountType, discountValue: coupon.value.discountValue });
  }

  /** The id an order of `userId` made from `base` gets (in a cluster, placed in its user's shard). */
  orderIdFor(userId: string, base: string): string {
    return this.parts.orderId?.(userId, base) ?? base;
  }

  getOrder(id: string): Promise<Result<OrderView>> {
    return this.read('order', id);
  }

  async payOrder(id: string): Promise<Result<OrderView>> {
    const started = performance.now();
    const result = await this.ask('order', id, { type: 'PayOrder' });
    this.observeSaga('pay', result, started);
    return result;
  }

  async cancelOrder(id: string): Promise<Result<OrderView>> {
    const started = performance.now();
    const result = await this.ask('order', id, { type: 'CancelOrder' });
    this.observeSaga('cancel', result, started);
    return result;
  }

  ordersByIds(ids: readonly string[]): Promise<Result<Page<OrderView>>> {
    return this.reads.ordersByIds(ids).then(accept, readFailure);
  }

  ordersByStatus(opts: { status: OrderStatus; days: number; cursor?: string; limit: number }): Promise<Result<Page<OrderView>>> {
    return this.reads.ordersByStatus({ ...opts, now: Date.now() }).then(accept, readFailure);
  }

  /** The outbox's sinks are reported, not required: payments go on while a sink is down. */
  /** `nats` only in a cluster: whether this member reaches NATS (and so can keep its leases and route). */
  async ready(): Promise<{ database: boolean; recovering: boolean; outbox: RelayStatus[]; nats?: boolean }> {
    const nats = this.parts.cluster?.connected;
    return { database: await this.parts.ping(), recovering: this.recovering, outbox: this.parts.outbox.status(), ...(nats === undefined ? {} : { nats }) };
  }

  /** Each outbox sink's connection, circuit breaker and lag. */
  outboxStatus(): RelayStatus[] {
    return this.parts.outbox.status();
  }

  deadLetters(opts: { cursor?: string; limit: number }): Promise<Result<{ items: DeadLetterView[]; nextCursor: string | null }>> {
    return this.parts.outbox.deadLetters(opts).then(accept, readFailure);
  }

  retryDeadLetter(id: string): Promise<RetryOutcome | Rejection> {
    return this.parts.outbox.retryDeadLetter(id).catch(readFailure);
  }

  /** Members and shard owners; NOT_FOUND when this process runs alone. */
  clusterStatus(): Result<ClusterStatus> {
    return this.parts.cluster ? accept(this.parts.cluster.status()) : reject('NOT_FOUND', 'this engine is one process: CLUSTER_NATS_URL is not set');
  }

  /** This process's name in its cluster; null when the engine is one process. */
  get node(): string | null {
    return this.parts.cluster?.node ?? null;
  }

  liveActors(): LiveActorSummary[] {
    return this.registry.liveActors();
  }

  inspect(kind: ActorKind, id: string): Promise<Result<Inspection>> {
    return this.ifExists(kind, id, () => this.registry.inspect({ kind, id }));
  }

  /** What passivating did: `not-live` when the actor exists and is not live (nothing to do), `busy` when it is live with work in progress. */
  async passivate(kind: ActorKind, id: string): Promise<Result<'passivated' | 'not-live' | 'busy'>> {
    if (this.registry.passivate({ kind, id })) return accept('passivated');
    if (this.registry.liveActors().some((a) => a.kind === kind && a.id === id)) return accept('busy');
    return this.ifExists(kind, id, async () => accept('not-live'));
  }

  snapshot(kind: ActorKind, id: string): Promise<Result<unknown>> {
    return this.ifExists(kind, id, () => this.registry.snapshot({ kind, id }));
  }

  /** Refreshes the gauges that are read off live state. */
  collectGauges(): void {
    this.parts.gauges?.collect();
  }

  /** Stops taking work, lets committed work finish and flushes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.parts.shutdown();
  }

  private ask<K extends ActorKind>(kind: K, id: string, command: CommandOf<K>): Promise<Result<ViewOf<K>>> {
    return this.ifExists(kind, id, () => this.registry.ask({ kind, id }, command));
  }

  /** A new entity under a fresh time-ordered id (or one the caller made so, to repeat a create under one Idempotency-Key). */
  private async create<K extends ActorKind>(kind: K, command: CommandOf<K>, id = uuidv7()): Promise<Result<ViewOf<K>>> {
    const created = await this.registry.create({ kind, id }, command);
    if (created.ok) this.known.note(kind, id);
    return created;
  }

  /** The committed view: from the read cache, or from the actor (which fills the cache). */
  private read<K extends ActorKind>(kind: K, id: string): Promise<Result<ViewOf<K>>> {
    const cached = this.cache.view(`${kind}-${id}`);
    // The cache holds what the actor of this key answered.
    if (cached) return Promise.resolve(accept(cached as ViewOf<K>));
    return this.ifExists(kind, id, () => this.registry.read({ kind, id }));
  }

  /** Runs `work` for an entity that exists; NOT_FOUND for an id never created, without activating its actor. */
  private ifExists<T>(kind: ActorKind, id: string, work: () => Promise<Result<T>>): Promise<Result<T>> {
    if (this.known.has(kind, id)) return work();
    return this.known.exists(kind, id).then(
      (exists) => (exists ? work() : reject('NOT_FOUND', `${kind} ${id} not found`)),
      readFailure,
    );
  }

  private observeSaga(saga: 'pay' | 'cancel', result: Result<OrderView>, started: number): void {
    const metrics = this.parts.metrics;
    if (!metrics) return;
    metrics.sagaDuration.observe({ saga, outcome: result.ok ? 'ok' : 'rejected' }, (performance.now() - started) / 1000);
  }

  /** An actor's journal, newest first, live or not; NOT_FOUND when it holds nothing for the actor. */
  async actorEvents(kind: ActorKind, id: string, opts: { cursor?: string; limit: number }): Promise<Result<Page<JournalEntryView>>> {
    const page = await this.parts.admin.actorEvents(kind, id, opts).then(accept, readFailure);
    if (!page.ok) return page;
    return page.value ? accept(page.value) : reject('NOT_FOUND', `${kind} ${id} has no events in the journal`);
  }

  async orderTimeline(id: string): Promise<Result<OrderTimeline>> {
    const timeline = await this.parts.admin.orderTimeline(id);
    return timeline ? accept(timeline) : reject('NOT_FOUND', `order ${id} not found`);
  }

  stuckOrders(opts: { olderThanMs: number; cursor?: string; limit: number }): Promise<Result<Page<StuckOrder>>> {
    return this.parts.admin
      .stuckOrders({ cutoff: Date.now() - opts.olderThanMs, limit: opts.limit, ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) })
      .then(accept, readFailure);
  }

  openClaims(opts: { olderThanMs: number; cursor?: string; limit: number }): Promise<Result<Page<OpenClaim>>> {
    return this.parts.admin
      .openClaims({ cutoff: Date.now() - opts.olderThanMs, limit: opts.limit, ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) })
      .then(accept, readFailure);
  }

  /** Pokes an order left mid-saga now, with the sweeper's message; `resumed` is false when it is not mid-saga. */
  async resumeOrder(id: string): Promise<Result<{ id: string; status: string; resumed: boolean }>> {
    const status = await this.parts.admin.orderStatus(id);
    if (status === undefined) return reject('NOT_FOUND', `order ${id} not found`);
    const resumed = status === 'PAYING' || status === 'CANCELLING';
    if (resumed) this.registry.tell({ kind: 'order', id }, { type: 'ResumeSaga' });
    return accept({ id, status, resumed });
  }

  /** Pokes a user whose coupon claims were left open now, with the sweeper's message; `resumed` is false when none is open. */
  async resumeUserClaims(userId: string): Promise<Result<{ userId: string; openClaims: number; resumed: boolean }>> {
    if (!(await this.parts.admin.userExists(userId))) return reject('NOT_FOUND', `user ${userId} not found`);
    const openClaims = await this.parts.admin.openClaimsOf(userId);
    if (openClaims > 0) this.registry.tell({ kind: 'user', id: userId }, { type: 'ResumeClaims' });
    return accept({ userId, openClaims, resumed: openClaims > 0 });
  }
}
