/** `failclosed check-audit EXPORT --keys KEYS`: checks a vendor's audit export offline. */
import { checkAudit, formatAuditCheck, readAuditExport, readAuditKeys } from '../evidence/check-audit.ts';
import { kitOfReportFolder } from '../evidence/verify.ts';
import type { CommandSpec } from './command.ts';

const KEYS_REMEDY = 'give --keys a JSON file { "identity_keys": [...], "control_plane_keys": [...] }, a kit\'s keys/ folder, a kit, or a report folder';

export const checkAuditCommand: CommandSpec = {
  name: 'check-audit',
  summary: 'check an audit export offline: records, hash chain, attribution, decisions',
  usage: 'failclosed check-audit EXPORT --keys KEYS',
  details: [
    'EXPORT        the audit export: a JSON array of audit records, or NDJSON (one record per line)',
    'KEYS          the public keys, as JSON:',
    '                { "identity_keys": [ { "key_id", "identity", "public_key", "state" } … ],',
    '                  "control_plane_keys": [ { "key_id", "public_key" } … ] }',
    '              (the registry as it stood over the export\'s period), or a verification kit\'s',
    '              keys/ folder, the kit folder itself, or the report folder of a run (its kit\'s keys)',
    '--json        print the result as JSON',
    '',
    'Checks: every record is a valid audit record; the hash chain is continuous from genesis; every',
    'request is attributable (one final record per trace, one request hash per trace, intent before',
    'final); every decision is consistent with the profile as far as an audit can tell (an executed',
    'allow has an intent record before it, a dispatched denial carries its approval and outcome, an',
    'approval executes once, the same bytes pass the replay check once, whoever got past',
    'authentication has an active key); and every record is placed in a request.',
    'Whether each decision was right for its request needs the requests too: see `failclosed verify`.',
    '',
    'Exit status: 0 the export checks out, 1 it does not (with record indexes), 2 usage error.',
  ],
  options: { keys: { type: 'string' }, json: { type: 'boolean', default: false } },
  positionals: true,
  async run(values, io, positionals) {
    const [file, ...extra] = positionals;
    if (!file || extra.length > 0) return io.usageError('give exactly one EXPORT file');
    if (typeof values.keys !== 'string') return io.usageError('give the public keys with --keys KEYS');
    // The keys of a report folder are its kit's: use them, and say so.
    const kit = await kitOfReportFolder(values.keys);
    if (kit && !values.json) io.out(`failclosed check-audit: ${values.keys} is a report folder; using the keys of its kit, ${kit}/keys\n`);
    const keys = await readAuditKeys(kit ?? values.keys);
    if (!keys.ok) return io.fail(keys.problem, KEYS_REMEDY);
    const entries = await readAuditExport(file);
    if (!entries.ok) return io.fail(`${file}: ${entries.problem}`, 'give the audit export as a JSON array of audit records or as NDJSON (one record per line)');
    const report = checkAudit(entries.value, keys.value);
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatAuditCheck(report, file));
    return report.exitCode;
  },
};
