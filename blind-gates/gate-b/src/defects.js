// Planted defects for conformance-suite evaluation, OFF by default: GATE_DEFECT=<name>[,<name>].
// Never set GATE_DEFECT in production.
export const KNOWN_DEFECTS = new Set([
  'result-cache',
  'exec-retry',
  'late-allow',
  'digest-client-order',
  'clock-round',
  'nonce-ttl-ms',
  'audit-drop-busy',
  'el-trusts-header',
  'claim-after-policy',
  'window-off-by-one',
]);

const active = new Set(
  (process.env.GATE_DEFECT ?? '').split(',').map((s) => s.trim()).filter(Boolean),
);

export function defect(name) {
  return active.has(name);
}

export function activeDefects() {
  return [...active];
}

export function unknownDefects() {
  return [...active].filter((d) => !KNOWN_DEFECTS.has(d));
}
