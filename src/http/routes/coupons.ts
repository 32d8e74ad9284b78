// /coupons: create a coupon, read it, issue one to a user (first come, first served), a user's coupons.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { CouponView } from '../../../actors/coupon/index.js';
import { accept, type Result } from '../../../actors/shared/result.js';
import type { Engine, IssuedCoupon as IssuedCouponView } from '../../engine/engine.js';
import type { PastViews } from '../../engine/past-views.js';
import type { HeldCouponView, Page } from '../../engine/read-views.js';
import { sendError, sendResult } from '../errors.js';
import { IdempotencyHeaders, IdParams, errors, pageOf } from '../schemas/common.js';
import { Coupon, CouponPageQuery, CreateCouponBody, HeldCoupon, IssueCouponBody, IssuedCoupon } from '../schemas/coupons.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An ISO 8601 instant as epoch ms; `undefined` in, `null` out; NaN when it does not parse or
 * names a day or time that does not exist (Date.parse would take 2026-02-30 for March 2nd).
 */
function instant(text: string | undefined): number | null {
  if (text === undefined) return null;
  const [, year, month, day, hour = '0', minute = '0', second = '0'] = ISO.exec(text) ?? [];
  if (year === undefined || month === undefined || day === undefined) return Number.NaN;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  const exists = date.getUTCFullYear() === Number(year) && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
  return exists && Number(hour) < 24 && Number(minute) < 60 && Number(second) < 60 ? Date.parse(text) : Number.NaN;
}

const couponOut = (result: Result<CouponView>) =>
  result.ok ? accept({ ...result.value, validFrom: iso(result.value.validFrom), validUntil: iso(result.value.validUntil) }) : result;

const heldOut = (page: Page<HeldCouponView>) => ({
  items: page.items.map((c) => ({ ...c, validFrom: iso(c.validFrom), validUntil: iso(c.validUntil) })),
  nextCursor: page.nextCursor,
});

export const couponRoutes =
  (engine: Engine, past: PastViews): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/coupons',
      {
        schema: {
          tags: ['coupons'], operationId: 'createCoupon',
          summary: 'Create a coupon: a fixed or percent discount, a total quantity, an optional validity window. Honours Idempotency-Key',
          headers: IdempotencyHeaders,
          body: CreateCouponBody,
          response: { 201: Coupon, ...errors(400, 409, 422, 503) },
        },
      },
      async (request, reply) => {
        const { validFrom, validUntil, ...rest } = request.body;
        const from = instant(validFrom);
        const until = instant(validUntil);
        if (Number.isNaN(from)) return sendError(reply, 'BAD_REQUEST', 'validFrom is not an ISO 8601 date-time');
        if (Number.isNaN(until)) return sendError(reply, 'BAD_REQUEST', 'validUntil is not an ISO 8601 date-time');
        return reply.answerOnce<{ id: string }>({ okStatus: 201, location: (c) => `/coupons/${c.id}` }, async (run) => {
          const made = run.takeover ? await past.afterCreate('coupon', run.id) : undefined;
          return couponOut(made ? accept(made) : await engine.createCoupon({ ...rest, validFrom: from, validUntil: until }, run.id));
        });
      },
    );

    app.get(
      '/coupons/:id',
      { schema: { tags: ['coupons'], operationId: 'getCoupon', summary: 'Read a coupon and how many are issued', params: IdParams, response: { 200: Coupon, ...errors(400, 404, 503) } } },
      async (request, reply) => sendResult(reply, couponOut(await engine.getCoupon(request.params.id))),
    );

    app.post(
      '/coupons/:id/issue',
      {
        schema: {
          tags: ['coupons'], operationId: 'issueCoupon',
          summary: 'Issue one coupon to a user, first come first served; 409 COUPON_SOLD_OUT or COUPON_ALREADY_ISSUED',
          params: IdParams,
          headers: IdempotencyHeaders,
          body: IssueCouponBody,
          response: { 201: IssuedCoupon, ...errors(400, 404, 409, 422, 503) },
        },
      },
      async (request, reply) =>
        reply.answerOnce<IssuedCouponView>({ okStatus: 201, location: (i) => `/users/${i.userId}/coupons` }, async (run) => {
          const issued = await engine.issueCoupon(request.params.id, request.body.userId);
          // A run that takes over one left unanswered finds the coupon issued by that run: the answer it would have had.
          if (run.takeover && !issued.ok && issued.error === 'COUPON_ALREADY_ISSUED') return accept({ couponId: request.params.id, userId: request.body.userId, status: 'ISSUED' as const });
          return issued;
        }),
    );

    app.get(
      '/users/:id/coupons',
      {
        schema: { tags: ['coupons'], operationId: 'listUserCoupons', summary: 'The coupons a user holds or has used', params: IdParams, querystring: CouponPageQuery, response: { 200: pageOf(HeldCoupon), ...errors(400, 404, 503) } },
      },
      async (request, reply) => {
        const page = await engine.userCoupons({ userId: request.params.id, ...request.query });
        return sendResult(reply, page.ok ? accept(heldOut(page.value)) : page);
      },
    );
  };
