// Pays a pool of orders over HTTP from a few concurrent workers, recording every answer; 503s go back in the pool.

export interface PayOutcome {
  readonly id: string;
  /** 0: no answer (the connection failed, e.g. the engine was killed). */
  readonly status: number;
  readonly code: string | undefined;
  readonly message: string | undefined;
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface PayLoad {
  readonly outcomes: PayOutcome[];
  /** Orders answered 200 PAID: the engine said they are paid. */
  readonly acknowledged: Set<string>;
  /** Orders answered 409: the engine said they cannot be paid. */
  readonly refused: Set<string>;
  /** Pays sent and not answered yet. */
  readonly inFlight: number;
  /** Workers finish their request in hand and stop. */
  stop(): void;
  /** Every order answered 200 or 409, or the workers stopped (or lost the engine). */
  readonly done: Promise<void>;
}

export interface PayLoadOptions {
  readonly workers: number;
  /** Pause before a 503'd order is tried again; it goes to the back of the pool. */
  readonly retryDelayMs: number;
  /** What the workers send with each pay (e.g. an Idempotency-Key). */
  readonly headers?: (orderId: string) => Record<string, string>;
}

export function payLoad(baseUrl: string, orderIds: readonly string[], options: PayLoadOptions): PayLoad {
  const pool = [...orderIds];
  const outcomes: PayOutcome[] = [];
  const acknowledged = new Set<string>();
  const refused = new Set<string>();
  let stopped = false;
  let inFlight = 0;

  const worker = async () => {
    for (;;) {
      if (stopped) return;
      const id = pool.shift();
      if (id === undefined) {
        // Others may still put a 503'd order back.
        if (inFlight === 0) return;
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      inFlight++;
      const startedAt = performance.now();
      let status = 0;
      let code: string | undefined;
      let message: string | undefined;
      let paid = false;
      try {
        const response = await fetch(`${baseUrl}/orders/${id}/pay`, { method: 'POST', headers: options.headers?.(id) ?? {} });
        status = response.status;
        const body = (await response.json().catch(() => undefined)) as { status?: string; error?: string; message?: string } | undefined;
        code = body?.error;
        message = body?.message;
        paid = status === 200 && body?.status === 'PAID';
      } catch {
        status = 0;
      }
      inFlight--;
      outcomes.push({ id, status, code, message, startedAt, endedAt: performance.now() });
      if (paid) acknowledged.add(id);
      // A repeat under an Idempotency-Key while the first still runs is not an answer: it goes back in the pool.
      else if (status === 409 && code !== 'IDEMPOTENCY_KEY_IN_PROGRESS') refused.add(id);
      else if (status === 0) {
        // The engine is gone: this order's fate is unknown, and so is every later one's.
        stopped = true;
        return;
      } else {
        await new Promise((r) => setTimeout(r, options.retryDelayMs));
        pool.push(id);
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.workers }, worker)).then(() => undefined);
  return {
    outcomes,
    acknowledged,
    refused,
    get inFlight() {
      return inFlight;
    },
    stop: () => {
      stopped = true;
    },
    done,
  };
}
