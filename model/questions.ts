/**
 * What the model asks its environment, and every answer the environment may give.
 *
 * The statechart waits in a state that `asks` one question; the environment answers with the
 * event `<question>.<answer>`. A *scenario* is a choice of answers. Concrete systems are driven
 * into a scenario by the harness (a signed request built to fail exactly one check, a Control
 * Plane that answers "timeout", a nemesis that cuts the execution link, …).
 *
 * The first answer of each list is the healthy one: a request answered healthily everywhere, with
 * no prior history, must execute; any other answer is a failure condition and must deny.
 */
export const QUESTIONS = {
  /** Is the body strict JSON with every field of the right type, and is the nonce well formed? */
  requestShape: ['wellFormed', 'malformed', 'nonceMalformed'],
  /** What the identity key registry says of the request's key_id. */
  identityKey: ['active', 'revoked', 'unknown'],
  /** Does the signature verify over the canonical signed fields? */
  signature: ['valid', 'invalid'],
  /** The request timestamp against the Gate's clock and the acceptance window. */
  timestamp: ['inWindow', 'stale', 'future'],
  /** The nonce store's condition when the Gate claims (identity, action, nonce). */
  nonceStore: ['available', 'unavailable', 'writeUnconfirmed'],
  /**
   * What comes back from the Control Plane. lateAllow: a valid allow (signed, bound, current) that
   * arrives only after the Gate's deadline — after the Gate answered its client.
   */
  controlPlane: ['allow', 'deny', 'unreachable', 'timeout', 'malformed', 'unsignedAllow', 'forged', 'lateAllow'],
  /** The envelope's validity window against the clock. */
  envelopeWindow: ['current', 'expired', 'notYetValid'],
  /** What the envelope is bound to. */
  envelopeBinding: ['exact', 'otherRequest', 'otherIdentity', 'otherAction', 'otherParameters'],
  /** Can the intent record be written durably before dispatch? */
  auditStore: ['available', 'failing'],
  /**
   * The link between Gate and Execution Layer (tampered: something rewrites the parameters in
   * flight; delayed: the call is delivered only after the Gate's deadline for it has passed).
   */
  executionLink: ['up', 'partitioned', 'tampered', 'delayed'],
  /** Did the Execution Layer's confirmation come back after it executed? */
  executionOutcome: ['confirmed', 'unconfirmed'],
  // Questions of a call made straight to the Execution Layer (INV-6).
  /** Was an envelope presented at all? */
  presentedEnvelope: ['present', 'absent'],
  /** Is the presented envelope signed by a trusted Control Plane key? */
  envelopeSignature: ['trusted', 'untrusted'],
  /** Do the identity, action and parameters to execute match the envelope's binding? */
  callBinding: ['exact', 'mismatched'],
} as const;

export type Question = keyof typeof QUESTIONS;
export type AnswerTo<Q extends Question> = (typeof QUESTIONS)[Q][number];
export type AnswerEventType = { [Q in Question]: `${Q}.${AnswerTo<Q>}` }[Question];
export type AnswerEvent = { type: AnswerEventType };

/** A choice of answers; a question left out gets its healthy answer. */
export type Scenario = { [Q in Question]?: AnswerTo<Q> };

export const ALL_QUESTIONS = Object.keys(QUESTIONS) as Question[];

export function healthyAnswer<Q extends Question>(question: Q): AnswerTo<Q> {
  return QUESTIONS[question][0] as AnswerTo<Q>;
}

export function isHealthy(question: Question, answer: string): boolean {
  return QUESTIONS[question][0] === answer;
}

export function answerEvent<Q extends Question>(question: Q, answer: AnswerTo<Q>): AnswerEvent {
  return { type: `${question}.${answer}` as AnswerEventType };
}

export function parseAnswerEvent(type: string): { question: Question; answer: string } {
  const dot = type.indexOf('.');
  const question = type.slice(0, dot) as Question;
  const answer = type.slice(dot + 1);
  if (!Object.hasOwn(QUESTIONS, question) || !(QUESTIONS[question] as readonly string[]).includes(answer)) {
    throw new Error(`not an answer event: ${type}`);
  }
  return { question, answer };
}

/** The meta a waiting state carries: which question it asks the environment. */
export interface AskMeta {
  asks: Question;
  /** one line for diagrams and reports */
  description: string;
}

export function ask(question: Question, description: string): AskMeta {
  return { asks: question, description };
}
