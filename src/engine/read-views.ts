// The read side's answers as the facade hands them out, so that its callers need not know the read side.

export type { HeldCouponView, Page } from '../read/queries.js';
