// NATS for the outbox tests: the shared server of TEST_NATS_URL, private nats-server processes, and reading a stream back.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort } from './child.js';

/** The shared NATS with JetStream that CI starts; tests that need it skip without it. */
export const sharedNatsUrl: string | undefined = process.env.TEST_NATS_URL || undefined;

/** Where nats-server is: NATS_SERVER_BIN, else Debian's /usr/sbin/nats-server. */
export const natsServerBinary: string = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** A stream name and subject prefix no other test (or run) uses. */
export function uniqueStream(tag: string): { stream: string; prefix: string; env: Record<string, string> } {
  const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const stream = `OE_T_${tag}_${suffix}`.toUpperCase();
  const prefix = `oe_t.${tag}_${suffix}`.toLowerCase();
  return { stream, prefix, env: { NATS_STREAM: stream, NATS_SUBJECT_PREFIX: prefix } };
}

export interface StreamMessage {
  readonly seq: number;
  readonly subject: string;
  readonly msgId: string | undefined;
  /** The W3C trace context the message carried, if any. */
  readonly traceparent: string | undefined;
  readonly body: any;
}

/** Every message the stream holds, in stream order (an ephemeral consumer that acks nothing). */
export async function readStream(url: string, stream: string): Promise<StreamMessage[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const total = (await jsm.streams.info(stream)).state.messages;
    const out: StreamMessage[] = [];
    if (total === 0) return out;
    const name = `reader_${Math.random().toString(36).slice(2, 10)}`;
    await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    try {
      const consumer = await jetstream(nc).consumers.get(stream, name);
      while (out.length < total) {
        const batch = await consumer.fetch({ max_messages: Math.min(1000, total - out.length), expires: 2000 });
        let got = 0;
        for await (const m of batch) {
          out.push({ seq: m.seq, subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') || undefined, traceparent: m.headers?.get('traceparent') || undefined, body: m.json() });
          got++;
        }
        if (got === 0) break;
      }
    } finally {
      await jsm.consumers.delete(stream, name).catch(() => undefined);
    }
    return out;
  } finally {
    await nc.close();
  }
}

export async function deleteStream(url: string, stream: string): Promise<void> {
  const nc = await connect({ servers: url }).catch(() => undefined);
  if (!nc) return;
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** A nats-server with JetStream of the test's own, on a free port with its own store; stop and start it at will. */
export interface PrivateNats {
  readonly url: string;
  readonly running: boolean;
  start(): Promise<void>;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
  /** Stops it and removes its store. */
  dispose(): Promise<void>;
}

export async function privateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'oe-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const server: PrivateNats = {
    url,
    get running() {
      return child !== undefined;
    },
    async start() {
      if (child) return;
      const proc = spawn(natsServerBinary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
      child = proc;
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}`);
        const nc = await connect({ servers: url, timeout: 500 }).catch(() => undefined);
        if (nc) {
          // JetStream answers once the server has read its store.
          const ok = await jetstreamManager(nc, { timeout: 1000 }).then(() => true, () => false);
          await nc.close();
          if (ok) return;
        }
        if (Date.now() > deadline) throw new Error('nats-server did not start within 20 s');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      const proc = child;
      if (!proc) return;
      child = undefined;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await exited;
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
