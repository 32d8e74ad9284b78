// The use-case facade: one typed method per use case, answering results or typed errors.

import { v7 as uuidv7 } from 'uuid';
import { outsideWindow, type CouponCommand, type CouponTerms, type CouponView } from '../../actors/coupon/index.js';
import type { OrderCommand, OrderCoupon, OrderItem, OrderStatus, OrderView } from '../../actors/order/index.js';
import type { ProductCommand, ProductView } from '../../actors/product/index.js';
import type { ActorKind } from '../../actors/shared/entity.js';
import { accept, reject, type Rejection, type Result } from '../../actors/shared/result.js';
import type { UserCommand, UserView } from '../../actors/user/index.js';
import type { Config } from '../config.js';
import { connect, type Database } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { BatchWriter } from '../journal/batch-writer.js';
import type { JournalStore } from '../journal/journal-store.js';
import { SqlJournalStore } from '../journal/sql-journal-store.js';
import type { Metrics } from '../metrics.js';
import { ReadCache } from '../read/cache.js';
import { ReadQueries, type HeldCouponView, type Page, type PopularProduct } from '../read/queries.js';
import { Outbox, type DeadLetterView, type RetryOutcome } from '../outbox/outbox.js';
import type { RelayStatus } from '../outbox/relay.js';
import type { Inspection } from './entity.js';
import { readFailure } from './read-failure.js';
import { startSystem, type ActorSystem } from './nact.js';
import { hostedModules } from './projections.js';
import { Registry, type LiveActorSummary } from './registry.js';

interface Commands {
  user: UserCommand;
  product: ProductCommand;
  order: OrderCommand;
  coupon: CouponCommand;
}
interface Views {
  user: UserView;
  product: ProductView;
  order: OrderView;
  coupon: CouponView;
}

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

export interface EngineOptions {
  /** Replaces the journal's SQL store, e.g. to inject failing commits in tests. */
  readonly journalStore?: (database: Database) => JournalStore;
}

/**
 * The engine: actors, journal and read side behind one facade.
 *
 * ```ts
 * const engine = await Engine.start(loadConfig(), metrics);
 * const user = await engine.createUser({ name: 'ada', points: 1000 });
 * ```
 */
export class Engine {
  private recovering = true;
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  private sweeping = false;

  private constructor(
    readonly config: Config,
    /** For stores beside the engine that keep tables of their own (the answers to Idempotency-Key requests). */
    readonly database: Database,
    private readonly journal: BatchWriter,
    private readonly registry: Registry,
    private readonly system: ActorSystem,
    private readonly reads: ReadQueries,
    private readonly cache: ReadCache,
    private readonly metrics: Metrics | undefined,
    private readonly outbox: Outbox,
  ) {}

  static async start(config: Config, metrics?: Metrics, options: EngineOptions = {}): Promise<Engine> {
    const database = await connect({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize, readPoolSize: config.dbReadPoolSize });
    await migrateToLatest(database);
    const store = options.journalStore?.(database) ?? new SqlJournalStore(database);
    const outbox = await Outbox.open(database, config.outbox, { logLevel: config.logLevel, ...(metrics ? { metrics } : {}) });
    const journal = new BatchWriter(store, {
      outbox,
      ...config.journal,
      observer: metrics && {
        batchCommitted: (_entries, events, seconds) => {
          metrics.batchEvents.observe(events);
          metrics.batchCommit.observe(seconds);
        },
        batchFailed: () => metrics.batchFailures.inc(),
      },
    });
    const system = startSystem();
    const cache = new ReadCache(config.cacheMaxEntries, metrics && { lookup: (name, hit) => metrics.cacheLookups.inc({ cache: name, result: hit ? 'hit' : 'miss' }) });
    const registry = new Registry(
      system,
      hostedModules,
      journal,
      { ...config.actors, snapshotEvery: config.snapshotEvery, replayPageSize: 1000, askTimeoutMs: config.requestTimeoutMs, views: cache, publishing: outbox.publishing },
      metrics && { activated: (kind) => metrics.activations.inc({ kind }), passivated: (kind) => metrics.passivations.inc({ kind }) },
    );
    journal.settleOn(() => registry.settling);
    const engine = new Engine(
      config,
      database,
      journal,
      registry,
      system,
      new ReadQueries(database.reads, database.traits),
      cache,
      metrics,
      outbox,
    );
    outbox.start();
    await engine.resumeSagas(0);
    await engine.resumeClaims(0);
    engine.recovering = false;
    engine.sweeper = setInterval(() => void engine.sweep(), config.sweepIntervalMs);
    engine.sweeper.unref();
    return engine;
  }

  // Users

  createUser(input: { name: string; points: number }): Promise<Result<UserView>> {
    return this.create('user', { type: 'CreateUser', name: input.name, points: input.points });
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

  // Products

  createProduct(input: { name: string; price: number; stock: number }): Promise<Result<ProductView>> {
    return this.create('product', { type: 'CreateProduct', ...input });
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

  // Coupons

  createCoupon(input: CouponTerms & { quantity: number }): Promise<Result<CouponView>> {
    return this.create('coupon', { type: 'CreateCoupon', ...input });
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

  // Orders

  /** Captures each product's price and the coupon's discount now; the user, every product and the coupon must exist. */
  async createOrder(input: NewOrder): Promise<Result<OrderView>> {
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
    return this.create('order', {
      type: 'CreateOrder',
      userId: input.userId,
      items,
      ttlMs: this.config.orderTtlMs,
      ...(coupon?.ok ? { coupon: coupon.value } : {}),
    });
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

  // Operations, admin

  /** The outbox's sinks are reported, not required: payments go on while a sink is down. */
  async ready(): Promise<{ database: boolean; recovering: boolean; outbox: RelayStatus[] }> {
    return { database: await this.database.ping(), recovering: this.recovering, outbox: this.outbox.status() };
  }

  /** Each outbox sink's connection, circuit breaker and lag. */
  outboxStatus(): RelayStatus[] {
    return this.outbox.status();
  }

  deadLetters(opts: { cursor?: string; limit: number }): Promise<Result<{ items: DeadLetterView[]; nextCursor: string | null }>> {
    return this.outbox.deadLetters(opts).then(accept, readFailure);
  }

  retryDeadLetter(id: string): Promise<RetryOutcome | Rejection> {
    return this.outbox.retryDeadLetter(id).catch(readFailure);
  }

  liveActors(): LiveActorSummary[] {
    return this.registry.liveActors();
  }

  inspect(kind: ActorKind, id: string): Promise<Result<Inspection>> {
    return this.registry.inspect({ kind, id });
  }

  passivate(kind: ActorKind, id: string): boolean {
    return this.registry.passivate({ kind, id });
  }

  snapshot(kind: ActorKind, id: string): Promise<Result<unknown>> {
    return this.registry.snapshot({ kind, id });
  }

  /** Refreshes the gauges that are read off live state. */
  collectGauges(): void {
    if (!this.metrics) return;
    const stats = this.registry.stats();
    for (const [kind, n] of Object.entries(stats.live)) this.metrics.liveActors.set({ kind }, n);
    this.metrics.mailboxMax.set(stats.mailboxMax);
    this.metrics.mailboxTotal.set(stats.mailboxTotal);
    this.metrics.journalBacklog.set(this.journal.backlog);
    this.metrics.cacheEntries.set(this.cache.size);
    this.outbox.collectGauges();
  }

  /** Stops taking work, lets committed work finish and flushes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await this.journal.drain();
    await this.outbox.close();
    this.registry.close();
    this.system.stop();
    await this.database.close();
  }

  private ask<K extends ActorKind>(kind: K, id: string, command: Commands[K]): Promise<Result<Views[K]>> {
    return this.registry.ask({ kind, id }, command) as Promise<Result<Views[K]>>;
  }

  /** A new entity under a fresh time-ordered id. */
  private async create<K extends ActorKind>(kind: K, command: Commands[K]): Promise<Result<Views[K]>> {
    return (await this.registry.create({ kind, id: uuidv7() }, command)) as Result<Views[K]>;
  }

  /** The committed view: from the read cache, or from the actor (which fills the cache). */
  private async read<K extends ActorKind>(kind: K, id: string): Promise<Result<Views[K]>> {
    const cached = this.cache.view(`${kind}-${id}`);
    if (cached) return accept(cached as Views[K]);
    return (await this.registry.read({ kind, id })) as Result<Views[K]>;
  }

  private observeSaga(saga: 'pay' | 'cancel', result: Result<OrderView>, started: number): void {
    if (!this.metrics) return;
    const outcome = result.ok ? result.value.status : result.error;
    this.metrics.sagaDuration.observe({ saga, outcome: result.ok ? 'ok' : 'rejected' }, (performance.now() - started) / 1000);
    this.metrics.ordersFinished.inc({ status: outcome });
  }

  /** Pokes orders whose saga was interrupted (crash, failed commit) so that they finish. */
  private async resumeSagas(olderThanMs: number): Promise<void> {
    const cutoff = Date.now() - olderThanMs;
    for (const status of ['PAYING', 'CANCELLING'] as const) {
      const stuck = await this.database.db
        .selectFrom('orders')
        .select('id')
        .where('status', '=', status)
        .where('updated_at', '<=', cutoff)
        .limit(1000)
        .execute();
      for (const { id } of stuck) this.registry.send({ kind: 'order', id }, { type: 'command', command: { type: 'ResumeSaga' }, mode: 'decision' });
    }
  }

  /** Pokes users whose coupon claim a crash or a failed step interrupted. */
  private async resumeClaims(olderThanMs: number): Promise<void> {
    const stuck = await this.database.db
      .selectFrom('user_coupons')
      .select('user_id')
      .distinct()
      .where('status', '=', 'CLAIMING')
      .where('updated_at', '<=', Date.now() - olderThanMs)
      .limit(1000)
      .execute();
    for (const { user_id } of stuck) this.registry.send({ kind: 'user', id: user_id }, { type: 'command', command: { type: 'ResumeClaims' }, mode: 'decision' });
  }

  private async expireOrders(): Promise<void> {
    const expired = await this.database.db
      .selectFrom('orders')
      .select('id')
      .where('status', '=', 'CREATED')
      .where('created_at', '<=', Date.now() - this.config.orderTtlMs)
      .limit(1000)
      .execute();
    for (const { id } of expired) this.registry.send({ kind: 'order', id }, { type: 'command', command: { type: 'ExpireOrder' }, mode: 'decision' });
  }

  private async sweep(): Promise<void> {
    // While the database hangs, sweeps must not pile up behind one another.
    if (this.closed || this.sweeping) return;
    this.sweeping = true;
    try {
      this.registry.sweepIdle();
      await this.resumeSagas(this.config.sweepIntervalMs);
      await this.resumeClaims(this.config.sweepIntervalMs);
      await this.expireOrders();
    } catch {
      // The database is down; readiness reports it and the next sweep tries again.
    } finally {
      this.sweeping = false;
    }
  }
}
