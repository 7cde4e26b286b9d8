/** `failclosed verify DIR`: checks a verification kit offline, contacting nothing. */
import { formatKitVerification, verifyKit } from '../evidence/verify.ts';
import type { CommandSpec } from './command.ts';
import { invariantsOption } from './plugin-options.ts';
import { PluginError } from '../../model/invariants/plugins.ts';

export const verifyCommand: CommandSpec = {
  name: 'verify',
  summary: 'verify an evidence kit offline: signature, hashes, every allow/deny and INV-1…INV-6',
  usage: 'failclosed verify DIR [--verbose] [--harness-key KEY] [--json] [--invariants FILE]…',
  details: [
    'DIR                 a verification kit (spec §5): manifest.json, manifest.sig, keys/, runs/;',
    '                    or the report folder of a run, whose kit/ is then verified',
    '--harness-key KEY   the base64url public key the manifest must be signed with, as handed over',
    '                    with the kit (without it, the kit\'s own keys/harness-key.json is used)',
    '--verbose           list every check (✓, ✗, or – could not run); without it, the summary and',
    '                    the checks that fail, with what and where',
    '--json              print the verification as JSON',
    '--invariants FILE   plug-in invariants (a .ts or .js module exporting defineInvariant(…) values,',
    '                    as given to `failclosed run --invariants`), re-judged on every history after',
    '                    INV-1…INV-6; repeatable',
    '',
    'Checks, with the kit\'s public keys alone: the manifest signature; every listed file\'s sha256,',
    'and that no other file exists; that each run\'s history is a History recorded with the kit\'s keys;',
    'every allow/deny re-derived from the request bytes, the Control Plane exchanges and the fault',
    'spans, against the recorded answers and effects; INV-1…INV-6 (and --invariants) on each history; the audit hash',
    'chain of each export. Reads failclosed-kit/2 (one gzip history per run) and failclosed-kit/1.',
    '',
    'Exit status: 0 everything verifies and every invariant holds, 1 something does not (each ✗ line',
    'says what and where), 2 no such folder or not a kit.',
  ],
  options: {
    'harness-key': { type: 'string' },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    invariants: { type: 'string', multiple: true },
  },
  positionals: true,
  async run(values, io, positionals) {
    const [dir, ...extra] = positionals;
    if (!dir || extra.length > 0) return io.usageError('give exactly one kit folder (or report folder) DIR');
    const pinned = values['harness-key'];
    if (pinned !== undefined && (typeof pinned !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(pinned))) {
      return io.usageError('--harness-key must be a base64url Ed25519 public key (43 characters)');
    }
    const loaded = await invariantsOption(Array.isArray(values.invariants) ? (values.invariants as string[]) : undefined, io);
    if (typeof loaded === 'number') return loaded;
    const invariants = loaded.invariants;
    let verification;
    try {
      verification = await verifyKit(dir, { ...(typeof pinned === 'string' ? { harnessPublicKey: pinned } : {}), ...(invariants.length ? { invariants } : {}) });
    } catch (error) {
      if (!(error instanceof PluginError)) throw error;
      return io.fail(`a plug-in invariant failed, not the kit: ${error.message}`, 'fix the plug-in (its predicate must not throw and must name witnesses inside the history)');
    }
    if (verification.notAKit) return io.fail(verification.notAKit.problem, verification.notAKit.remedy);
    io.out(values.json ? `${JSON.stringify(verification, null, 2)}\n` : formatKitVerification(verification, { verbose: values.verbose === true }));
    return verification.exitCode;
  },
};
