// Coupon request and response schemas.

import { Type } from 'typebox';
import { Id, Instant as At, Name, PageQuery } from './common.js';

const DiscountType = Type.Union([Type.Literal('FIXED'), Type.Literal('PERCENT')]);
const Instant = Type.String({ minLength: 10, maxLength: 40, description: 'an ISO 8601 date-time, e.g. 2026-12-31T23:59:59Z' });
const MaybeInstant = Type.Union([Type.String({ description: 'ISO 8601 date-time' }), Type.Null()]);

export const CreateCouponBody = Type.Object(
  {
    name: Name,
    discountType: DiscountType,
    discountValue: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000, description: 'minor units off (FIXED) or percent off, at most 100 (PERCENT)' }),
    quantity: Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'how many can be issued in all' }),
    validFrom: Type.Optional(Instant),
    validUntil: Type.Optional(Instant),
  },
  { additionalProperties: false, title: 'NewCoupon' },
);

export const Coupon = Type.Object({
  id: Type.String(),
  name: Type.String(),
  discountType: DiscountType,
  discountValue: Type.Integer(),
  quantity: Type.Integer(),
  issued: Type.Integer(),
  validFrom: MaybeInstant,
  validUntil: MaybeInstant,
}, { title: 'Coupon', description: 'a coupon and how many are issued' });

export const IssueCouponBody = Type.Object({ userId: Id }, { additionalProperties: false, title: 'IssueCoupon' });
export const IssuedCoupon = Type.Object({ couponId: Type.String(), userId: Type.String(), status: Type.Literal('ISSUED') }, { title: 'IssuedCoupon', description: 'the coupon was issued to the user' });

export const HeldCoupon = Type.Object({
  couponId: Type.String(),
  name: Type.String(),
  discountType: DiscountType,
  discountValue: Type.Integer(),
  validFrom: MaybeInstant,
  validUntil: MaybeInstant,
  status: Type.Union([Type.Literal('ISSUED'), Type.Literal('USED')]),
  orderId: Type.Union([Type.String(), Type.Null()]),
  issuedAt: At(),
}, { title: 'HeldCoupon', description: 'a coupon a user holds or has used' });

export const CouponPageQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
