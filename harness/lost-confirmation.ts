/**
 * What the Gate gets instead of the Execution Layer's answer when the harness loses it in a given
 * form (conformance/driver.ts, LOST_CONFIRMATION_FORMS): the call has run, and every form must be
 * answered EXECUTION_UNCONFIRMED. Shared by the HTTP proxy and the in-process link.
 */
import type { JsonValue } from '../model/profile/canonical-json.ts';
import { canonicalBytes, parseStrictJson } from '../model/profile/canonical-json.ts';
import { utf8Encode } from '../model/profile/encoding.ts';
import type { LostConfirmationForm } from '../conformance/driver.ts';

/** An error page from something between the Gate and its Execution Layer. */
export const GARBAGE_CONFIRMATION = '<html><body>502 Bad Gateway</body></html>';

export interface ReplacedAnswer {
  status: number;
  contentType: string;
  body: Uint8Array;
}

/** The Execution Layer's real answer with its effect_id removed (or, if it is no JSON object, garbage). */
function withoutEffectId(real: Uint8Array): Uint8Array {
  try {
    const parsed = parseStrictJson(real);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const { effect_id: _dropped, ...rest } = parsed;
      return canonicalBytes(rest);
    }
  } catch {
    // not JSON: the garbage form will do
  }
  return utf8Encode(GARBAGE_CONFIRMATION);
}

/** Over HTTP: what the proxy answers instead of `real` (the form `reset` is not an answer). */
export function replacedAnswer(form: Exclude<LostConfirmationForm, 'reset'>, real: { status: number; body: Uint8Array }): ReplacedAnswer {
  switch (form) {
    case 'garbage':
      return { status: 200, contentType: 'application/json', body: utf8Encode(GARBAGE_CONFIRMATION) };
    case 'status-5xx':
      // The bait: a real `executed` result, but under a status that carries none.
      return { status: 502, contentType: 'application/json', body: real.body };
    case 'incomplete':
      return { status: 200, contentType: 'application/json', body: withoutEffectId(real.body) };
  }
}

/** In-process: what the link returns instead of `real` (no status line: status-5xx is played as garbage). */
export function replacedResult(form: Exclude<LostConfirmationForm, 'reset'>, real: Uint8Array | JsonValue): Uint8Array | JsonValue {
  if (form !== 'incomplete') return utf8Encode(GARBAGE_CONFIRMATION);
  return withoutEffectId(real instanceof Uint8Array ? real : canonicalBytes(real));
}
