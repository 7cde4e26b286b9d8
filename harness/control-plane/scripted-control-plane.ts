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
import { digestJson } from '../../model/profile/digest.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';
import type { PolicyQuestion } from '../../model/profile/messages.ts';
import type { ControlPlaneLink } from '../../reference-impl/gate/links.ts';
import { LinkError } from '../../reference-impl/gate/links.ts';
import type { HistoryRecorder } from '../history-recorder.ts';

export const GARBAGE_ANSWER = '<html><body>502 Bad Gateway</body></html>';

export interface ScriptedAnswer {
  /** the model's controlPlane / envelope answers to play */
  answers: Answers;
  approvalId: string;
  /** every question gets an approval of its own (`<approvalId>`, `<approvalId>-2`, …) */
  approvalPerQuestion?: boolean;
  envelope?: EnvelopeOptions;
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

  /** The link an in-process Gate asks through. */
  readonly link: ControlPlaneLink = {
    ask: (question, signal) => {
      const answer = this.respond(question, signal);
      return this.scheduler ? this.scheduler.schedule(answer, `Control Plane answers ${question.request_id}`) : answer;
    },
  };

  async respond(question: PolicyQuestion, signal?: AbortSignal): Promise<Uint8Array | JsonValue> {
    const q = question as unknown as JsonValue;
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
        record({ kind: 'garbage', body: GARBAGE_ANSWER });
        return utf8Encode(GARBAGE_ANSWER);
      case 'unsignedAllow':
        record({ kind: 'allow-unsigned' });
        return { decision: 'allow' };
      default:
        throw new Error(`no Control Plane answer "${script.answers.controlPlane}"`);
    }
  }
}
