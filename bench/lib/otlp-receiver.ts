// A stand-in OTLP/HTTP trace collector for --tracing: answers every export with 200 and counts what arrived, so the engine pays the whole export and the run can tell whether spans were dropped.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface TraceStats {
  /** Export requests answered. */
  readonly exports: number;
  readonly bytes: number;
  readonly spans: number;
  /** Spans of each name in `counted` (e.g. `order PayOrder`: one per payment that reached its order). */
  readonly named: Readonly<Record<string, number>>;
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds /v1/traces). */
  readonly url: string;
  stats(): TraceStats;
  close(): Promise<void>;
}

/** Calls `each(field, start, end)` for every length-delimited field of a protobuf message in `buf[from, to)`, skipping the others. */
function lengthDelimited(buf: Buffer, from: number, to: number, each: (field: number, start: number, end: number) => void): void {
  let at = from;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = buf[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  while (at < to) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = varint();
      each(Math.floor(tag / 8), at, at + length);
      at += length;
    } else throw new Error(`protobuf wire type ${wire} not expected in an OTLP export`);
  }
}

/**
 * Listens on a free port of 127.0.0.1. The body is an `ExportTraceServiceRequest` in protobuf
 * (the SDK's default `http/protobuf`): resource spans (1) → scope spans (2) → spans (2), each
 * span's name in field 5; only that much is read.
 */
export async function otlpReceiver(counted: readonly string[]): Promise<OtlpReceiver> {
  let exports = 0;
  let bytes = 0;
  let spans = 0;
  const named: Record<string, number> = Object.fromEntries(counted.map((name) => [name, 0]));
  const names = new Map(counted.map((name) => [name, Buffer.from(name)]));
  const count = (body: Buffer) => {
    lengthDelimited(body, 0, body.length, (field, start, end) => {
      if (field !== 1) return;
      lengthDelimited(body, start, end, (field, start, end) => {
        if (field !== 2) return;
        lengthDelimited(body, start, end, (field, start, end) => {
          if (field !== 2) return;
          spans++;
          lengthDelimited(body, start, end, (field, start, end) => {
            if (field !== 5) return;
            for (const [name, bytes] of names) if (end - start === bytes.length && body.subarray(start, end).equals(bytes)) named[name]!++;
          });
        });
      });
    });
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      exports++;
      bytes += raw.length;
      try {
        count(req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw);
      } catch {
        // Counted as an export all the same; the span count then says it was not understood.
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ exports, bytes, spans, named: { ...named } }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
