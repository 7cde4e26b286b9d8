/**
 * The window edges, live (CONTRACT.md section 3, "Time"): a request timestamped exactly
 * `now − window`, `now − window − 1`, `now + window`, `now + window + 1` on the Gate's clock, and
 * envelopes whose `issued_at` / `expires_at` sit on the second the Gate (and then its Execution
 * Layer) reads. Those a rounded clock would answer otherwise are placed after the middle of a
 * second of the system's clock; each is judged on the seconds it may have read (timed.ts), so
 * that a window off by one, with a few seconds of slack, or a clock rounded instead of floored,
 * gives a wrong answer — and a correct gate never does, even when the request straddles a second.
 */
import { concreteRequest } from '../../model/concrete-scenario.ts';
import type { ClientRequest } from '../../model/profile/messages.ts';
import { predictRequest } from '../../model/predict.ts';
import { envelopeWindowAnswer, timestampAnswer, unixSeconds } from '../../model/time.ts';
import { ACTION } from '../run-context.ts';
import type { RunContext } from '../run-context.ts';
import type { Tagged } from '../threats.ts';
import { CLOCK_AGREEMENT, judgeTimed, placeInSecond, sendTimed } from './timed.ts';

export const TIMESTAMP_EDGES = ['stale-edge', 'past-stale-edge', 'future-edge', 'past-future-edge'] as const;
export type TimestampEdge = (typeof TIMESTAMP_EDGES)[number];

/** The timestamp, in seconds from the Gate's clock, of each edge (window w). */
export function timestampAtEdge(edge: TimestampEdge, w: number): number {
  switch (edge) {
    case 'stale-edge':
      return -w;
    case 'past-stale-edge':
      return -w - 1;
    case 'future-edge':
      return w;
    case 'past-future-edge':
      return w + 1;
  }
}

export const ENVELOPE_EDGES = ['valid-at-both-edges', 'issued-next-second', 'expires-now'] as const;
export type EnvelopeEdge = (typeof ENVELOPE_EDGES)[number];

/** Validity times relative to the Gate's second s: valid from s to s+1 (one second, both edges), from s+1, until s. */
export function envelopeAtEdge(edge: EnvelopeEdge, s: number): { issued_at: number; expires_at: number } {
  switch (edge) {
    case 'valid-at-both-edges':
      return { issued_at: s, expires_at: s + 1 };
    case 'issued-next-second':
      return { issued_at: s + 1, expires_at: s + 61 };
    case 'expires-now':
      return { issued_at: s - 60, expires_at: s };
  }
}

/** Tries a probe that straddled a second again: a fair answer then says nothing about the edge. */
const ATTEMPTS = 3;

interface Probe {
  label: string;
  tag: Tagged;
  /**
   * Sent after the middle of a second: where a clock rounded up reads the next second and changes
   * the answer. The others are sent at once (a rounded clock changes nothing there).
   */
  late: boolean;
  /** the request to send when the Gate's clock reads second s */
  build(s: number): { request: ClientRequest; window: { issued_at: number; expires_at: number } };
}

async function probe(ctx: RunContext, p: Probe): Promise<void> {
  const w = ctx.acceptanceWindowSec;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const offset = p.late ? await placeInSecond(ctx) : 0;
    let verdict;
    try {
      const s = unixSeconds(Date.now() + offset);
      const { request, window } = p.build(s);
      const approvalId = ctx.unique('approval');
      const obs = await sendTimed(ctx, request, approvalId, offset, window);
      const modelRequest = { requestId: request.request_id, identity: request.identity, action: request.action, nonce: request.nonce, approvalId };
      verdict = await judgeTimed(ctx, p, { ...obs, offsetMs: offset }, (second) =>
        predictRequest({ timestamp: timestampAnswer(request.timestamp, second, w), envelopeWindow: envelopeWindowAnswer(window, second) }, ctx.memory, modelRequest),
      );
    } finally {
      if (offset !== 0) await ctx.driver.setClockOffset(0);
    }
    if (verdict !== 'either') return;
  }
  ctx.notTested.set(`${p.label} — every attempt straddled a second of the gate's clock`, CLOCK_AGREEMENT);
}

function fields(ctx: RunContext, to: string) {
  return { request_id: ctx.unique('req'), action: ACTION, parameters: { to, amount: 2 }, nonce: ctx.nonce() };
}

/** A request timestamped exactly at (or one second past) an edge of the acceptance window. */
export async function timestampEdgeProbe(ctx: RunContext, edge: TimestampEdge, tag: Tagged): Promise<void> {
  const delta = timestampAtEdge(edge, ctx.acceptanceWindowSec);
  await probe(ctx, {
    label: `timestamp at the Gate's now ${delta >= 0 ? '+' : ''}${delta}s (${edge})`,
    tag,
    late: edge === 'stale-edge' || edge === 'past-future-edge',
    build: (s) => ({
      request: concreteRequest({}, fields(ctx, 'erin'), s + delta, ctx.acceptanceWindowSec) as ClientRequest,
      window: { issued_at: s - 5, expires_at: s + 60 },
    }),
  });
}

/** A fresh request whose envelope's issued_at or expires_at is the second the Gate reads. */
export async function envelopeEdgeProbe(ctx: RunContext, edge: EnvelopeEdge, tag: Tagged): Promise<void> {
  await probe(ctx, {
    label: `envelope ${edge} of the Gate's second`,
    tag,
    late: edge !== 'expires-now',
    build: (s) => ({
      request: concreteRequest({}, fields(ctx, 'frank'), s, ctx.acceptanceWindowSec) as ClientRequest,
      window: envelopeAtEdge(edge, s),
    }),
  });
}
