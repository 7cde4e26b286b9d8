// Planted, realistic defects for measuring the conformance suite (FINDINGS.md, part 2).
// GATE_DEFECT=<name>[,<name>…] switches them on; off by default; an unknown name refuses to start.
export const DEFECTS = {
  'replay-cache': 'answers a replayed (identity, action, nonce) from a cache of the first answer (idempotency cache)',
  'retry-execution': 'retries the Execution Layer call once when the answer was lost after sending',
  'late-allow': 'a Control Plane answer that arrives after the deadline is still acted upon in the background',
  'insertion-order-digest': 'parameters digest = sha256(JSON.stringify(parameters)) — key order of the client, not RFC 8785',
  'clock-rounding': 'unix seconds = Math.round(ms / 1000) instead of floor',
  'forget-nonces-after-restart': 'claimed nonces live in memory; the nonce log is written but never read back',
  'trust-gateway-header': 'a request carrying x-gateway-authenticated: <identity> skips signature and timestamp checks',
  'async-audit': 'the intent record is written fire-and-forget, dispatch does not wait for it',
  'expiry-off-by-one': 'an envelope is expired only after expires_at (now > expires_at), not at it',
  'window-slack': 'the freshness check allows 15 s of "clock skew" beyond the acceptance window',
  'unconfirmed-as-success': 'an Execution Layer call whose answer was lost after sending is reported as executed',
};

const active = new Set((process.env.GATE_DEFECT ?? '').split(',').map((s) => s.trim()).filter(Boolean));
for (const d of active) {
  if (!(d in DEFECTS)) {
    process.stderr.write(`gate: unknown GATE_DEFECT ${d}; known: ${Object.keys(DEFECTS).join(', ')}\n`);
    process.exit(1);
  }
}

export const defect = (name) => active.has(name);
