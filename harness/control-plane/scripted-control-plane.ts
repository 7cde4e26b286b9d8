/**
 * The harness plays the Control Plane. Each command scripts what it answers — an allow signed with
 * the harness's trusted key (current, expired, bound elsewhere…), a deny, a forged envelope,
 * garbage, silence until the deadline, a refused connection — and every exchange is recorded.
 */
import type fc from 'fast-check';
import type { Answers, EnvelopeOptions } from '../../model/concrete-scenario.ts';
import { concreteEnvelope } from '../../model/concrete-scenario.ts';
import type { PolicyAnswer } from '../../model/history.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalBytes } from '../../model/profile/canonical-json.ts';
import { digestJson } from '../../model/profile/digest.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';
import type { PolicyQuestion } from '../../model/profile/messages.ts';
import type { ControlPlaneLink } from '../../reference-impl/gate/links.ts';
import { LinkError } from '../../reference-impl/gate/links.ts';
import type { HistoryRecorder } from '../history-recorder.ts';
import { LateRelease, MAX_LATE_HOLD_MS } from '../late-release.ts';

export const GARBAGE_ANSWER = '<html><body>502 Bad Gateway</body></html>';

/**
 * How the harness plays a "malformed" Control Plane answer (CONTRACT.md section 4, answers the
 * harness does not otherwise send). All must be denied CONTROL_PLANE_MALFORMED:
 *   garbage      200, an HTML error page labelled application/json
 *   wrong-case   200, {"decision":"ALLOW"} with a valid envelope: a decision is spelt exactly
 *   redirect     307 to a harness URL that answers a valid allow: a redirect is never followed
 *   status-4xx   403 whose body is a valid allow: only a 200 carries a decision
 *   null         200, the JSON `null`
 *   array        200, an array holding a valid allow: the answer is an object or nothing
 * redirect and status-4xx exist only over HTTP; in-process they are played as garbage.
 */
export const MALFORMED_FORMS = ['garbage', 'wrong-case', 'redirect', 'status-4xx', 'null', 'array'] as const;
export type MalformedForm = (typeof MALFORMED_FORMS)[number];

/** An answer with an HTTP status and headers of its own (the HTTP Control Plane sends it as it is). */
export class HttpAnswer {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    readonly body: Uint8Array,
  ) {}
}

export interface ScriptedAnswer {
  /** the model's controlPlane / envelope answers to play */
  answers: Answers;
  /** how a "malformed" answer looks (default: garbage) */
  malformed?: MalformedForm;
  approvalId: string;
  /** every question gets an approval of its own (`<approvalId>`, `<approvalId>-2`, …) */
  approvalPerQuestion?: boolean;
  envelope?: EnvelopeOptions;
}

/**
 * The next question's answer held back by the harness: it crashes the gate while that question
 * waits, then lets the answer go (CrashAwaitingApproval, CONTRACT.md section 9.1).
 */
export interface AnswerHold {
  /** resolves when a held question has arrived */
  readonly asked: Promise<void>;
  /** lets the held answer go — computed then, so an allow is current when sent */
  release(): void;
}

export interface DigestMismatch {
  sent: string;
  actual: string;
}

export class ScriptedControlPlane {
  private script: ScriptedAnswer | undefined;
  /** how many questions arrived while nothing was scripted (each is answered "deny") */
  unscripted = 0;
  private asked = 0;
  private digestMismatches: DigestMismatch[] = [];
  /**
   * What the harness holds back to deliver after the Gate answered: this Control Plane's late
   * allows, and the Execution Layer calls a delayed link holds (its proxy and in-process link
   * share this one).
   */
  readonly late = new LateRelease();

  constructor(
    private readonly recorder: HistoryRecorder,
    private readonly nowSec: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** Answers the next questions as `script` says, until scripted again. */
  answer(script: ScriptedAnswer | undefined): void {
    this.script = script;
    this.asked = 0;
  }

  /** Questions whose parameters_digest was not the digest of their parameters, since last asked. */
  takeDigestMismatches(): DigestMismatch[] {
    const taken = this.digestMismatches;
    this.digestMismatches = [];
    return taken;
  }

  /**
   * While set, answers are released in the order fast-check's scheduler chooses, so concurrent
   * requests meet their approvals in every interleaving fast-check explores (and shrinks).
   */
  scheduler: fc.Scheduler | undefined;

  /** The link an in-process Gate asks through (no HTTP: an answer with a status of its own is garbage here). */
  readonly link: ControlPlaneLink = {
    ask: (question, signal) => {
      const answer = this.respond(question, signal).then((a) => (a instanceof HttpAnswer ? utf8Encode(GARBAGE_ANSWER) : a));
      return this.scheduler ? this.scheduler.schedule(answer, `Control Plane answers ${question.request_id}`) : answer;
    },
  };

  /** Valid allows waiting behind a redirect, by token: what a gate that follows it would get. */
  private readonly behindRedirects = new Map<string, JsonValue>();

  /** The answer behind a redirect the harness sent (undefined: no such redirect). */
  redirectTarget(token: string): JsonValue | undefined {
    return this.behindRedirects.get(token);
  }

  private holding: { arrived: () => void; released: Promise<void> } | undefined;

  /**
   * Holds the answer to the next question until `release()`, or until MAX_LATE_HOLD_MS passed
   * (longer than any deadline the contract allows a gate: nothing is held for ever). Questions
   * after it are answered as usual.
   */
  holdNextAnswer(): AnswerHold {
    let arrived!: () => void;
    const asked = new Promise<void>((resolve) => (arrived = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const letGo = () => {
      clearTimeout(timer);
      if (this.holding?.released === released) this.holding = undefined;
      release();
    };
    const timer = setTimeout(letGo, MAX_LATE_HOLD_MS);
    this.holding = { arrived, released };
    return { asked, release: letGo };
  }

  /** Waits while the answer is held; false when the gate gave up on the question meanwhile. */
  private async waitWhileHeld(signal: AbortSignal | undefined): Promise<boolean> {
    const hold = this.holding;
    if (!hold) return true;
    this.holding = undefined;
    hold.arrived();
    if (signal?.aborted) return false;
    let gaveUp!: () => void;
    const abandoned = new Promise<'gave-up'>((resolve) => (gaveUp = () => resolve('gave-up')));
    signal?.addEventListener('abort', gaveUp, { once: true });
    const outcome = await Promise.race([hold.released, abandoned]);
    signal?.removeEventListener('abort', gaveUp);
    return outcome !== 'gave-up';
  }

  async respond(question: PolicyQuestion, signal?: AbortSignal): Promise<Uint8Array | JsonValue | HttpAnswer> {
    const q = question as unknown as JsonValue;
    if (!(await this.waitWhileHeld(signal))) {
      this.recorder.policy(q, { kind: 'no-answer', reason: 'timeout' });
      throw new LinkError('timeout', 'the gate gave up while the harness held its answer');
    }
    const script = this.script;
    let actual: string | undefined;
    try {
      actual = digestJson(question.parameters);
    } catch {
      actual = 'no canonical form';
    }
    if (question.parameters_digest !== actual) this.digestMismatches.push({ sent: String(question.parameters_digest), actual });
    this.asked += 1;
    if (!script) {
      this.unscripted += 1;
      this.recorder.policy(q, { kind: 'deny' });
      return { decision: 'deny', reason: 'nothing scripted' };
    }
    const record = (answer: PolicyAnswer) => this.recorder.policy(q, answer);
    switch (script.answers.controlPlane ?? 'allow') {
      case 'allow':
      case 'forged': {
        const approvalId = script.approvalPerQuestion && this.asked > 1 ? `${script.approvalId}-${this.asked}` : script.approvalId;
        const envelope = concreteEnvelope(script.answers, question, approvalId, this.nowSec(), script.envelope) as unknown as JsonValue;
        record({ kind: 'allow', envelope });
        return { decision: 'allow', envelope };
      }
      case 'deny':
        record({ kind: 'deny' });
        return { decision: 'deny', reason: 'policy' };
      case 'unreachable':
        record({ kind: 'no-answer', reason: 'outage' });
        throw new LinkError('unreachable', 'connection refused by the harness');
      case 'timeout':
        record({ kind: 'no-answer', reason: 'timeout' });
        // Silent until the Gate gives up (bounded, should the Gate set no deadline).
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 30_000);
          signal?.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)), { once: true });
        });
        throw new LinkError('timeout', 'the harness never answered');
      case 'malformed':
        return this.malformed(script, question, record);
      case 'unsignedAllow':
        record({ kind: 'allow-unsigned' });
        return { decision: 'allow' };
      case 'lateAllow':
        return this.lateAllow(script, question, signal, record);
      default:
        throw new Error(`no Control Plane answer "${script.answers.controlPlane}"`);
    }
  }

  /**
   * A valid allow — trusted key, bound to this request, current when sent — held until the run
   * context releases it after the Gate answered its client. A Gate that gave up on the exchange
   * (hung up; in-process: aborted its signal) meets nothing: recorded as no answer. One that kept
   * the exchange open gets the allow, recorded when it was sent — after the Gate's answer.
   */
  private lateAllow(script: ScriptedAnswer, question: PolicyQuestion, signal: AbortSignal | undefined, record: (answer: PolicyAnswer) => void): Promise<JsonValue> {
    const approvalId = script.approvalPerQuestion && this.asked > 1 ? `${script.approvalId}-${this.asked}` : script.approvalId;
    return new Promise((resolve, reject) => {
      const gaveUp = () => reject(new LinkError('timeout', 'no answer before the deadline (the harness answers late)'));
      signal?.addEventListener('abort', gaveUp, { once: true });
      this.late.hold({
        what: 'Control Plane allow',
        open: () => !signal?.aborted,
        deliver: async () => {
          signal?.removeEventListener('abort', gaveUp);
          if (signal?.aborted) {
            record({ kind: 'no-answer', reason: 'timeout' });
            gaveUp();
            return false;
          }
          const envelope = concreteEnvelope({ ...script.answers, controlPlane: 'allow' }, question, approvalId, this.nowSec(), script.envelope) as unknown as JsonValue;
          record({ kind: 'allow', envelope });
          resolve({ decision: 'allow', envelope });
          return true;
        },
      });
    });
  }

  /** A malformed answer in the scripted form; a valid allow hides in some, as bait. */
  private malformed(script: ScriptedAnswer, question: PolicyQuestion, record: (answer: PolicyAnswer) => void): Uint8Array | JsonValue | HttpAnswer {
    const form = script.malformed ?? 'garbage';
    if (form === 'garbage') {
      record({ kind: 'garbage', body: GARBAGE_ANSWER });
      return utf8Encode(GARBAGE_ANSWER);
    }
    const allow = { decision: 'allow', envelope: concreteEnvelope({}, question, script.approvalId, this.nowSec(), script.envelope) as unknown as JsonValue };
    if (form === 'null') {
      record({ kind: 'garbage', body: 'null' });
      return null;
    }
    if (form === 'array') {
      const answer = [allow];
      record({ kind: 'garbage', body: new TextDecoder().decode(canonicalBytes(answer)) });
      return answer;
    }
    if (form === 'wrong-case') {
      const answer = { ...allow, decision: 'ALLOW' };
      record({ kind: 'garbage', body: new TextDecoder().decode(canonicalBytes(answer)) });
      return answer;
    }
    if (form === 'redirect') {
      const token = `${script.approvalId}-${this.behindRedirects.size + 1}`;
      this.behindRedirects.set(token, allow);
      const location = `/v1/decide/redirected/${encodeURIComponent(token)}`;
      record({ kind: 'garbage', body: `HTTP 307 to ${location}, where a valid allow waits` });
      return new HttpAnswer(307, { location, 'content-type': 'text/plain' }, utf8Encode(`see ${location}`));
    }
    const body = canonicalBytes(allow);
    record({ kind: 'garbage', body: `HTTP 403 with a valid allow: ${new TextDecoder().decode(body)}` });
    return new HttpAnswer(403, { 'content-type': 'application/json' }, body);
  }
}
