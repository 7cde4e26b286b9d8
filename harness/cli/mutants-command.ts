/** `failclosed mutants`: the suite against the reference and every planted-bug variant — the kill matrix. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MUTANTS } from '../../conformance/mutants/index.ts';
import { formatKillMatrix, runKillMatrix } from '../../conformance/mutants/kill-matrix.ts';
import { PROFILES, isProfileName } from '../../conformance/profiles.ts';
import { writeKillMatrixHtml } from '../reports/kill-matrix-html.ts';
import type { CommandSpec } from './command.ts';

export const mutantsCommand: CommandSpec = {
  name: 'mutants',
  summary: 'prove the suite can fail: run it against planted-bug variants of the reference',
  usage: 'failclosed mutants [--over in-process|http] [--profile quick|standard|thorough] [--seed N] [--only ID,ID] [--random-only] [--json FILE]',
  details: [
    '--over WIRING    in-process (default), or http: each variant as its own `failclosed serve`',
    '                 process behind the harness (variants that replace a store are in-process only;',
    '                 one that breaks only between replicas runs over HTTP only, with its replicas)',
    '--profile NAME   the profile each run uses (default quick)',
    '--seed N         fast-check seed for every run (default 42, so the matrix is reproducible)',
    '--only IDS       a comma-separated subset of variants',
    '--random-only    skip the prelude: what the random command sequences catch on their own',
    '--json FILE      write the kill matrix as JSON (and as HTML beside it)',
    '',
    `Variants: ${MUTANTS.map((m) => m.id).join(', ')}.`,
    'Prints the kill matrix (variant × INV-1…INV-6, time to detection, counterexample length).',
    'Exit status: 0 only if the reference is compliant and every variant is caught; 1 otherwise;',
    '2 on a usage error.',
  ],
  options: {
    profile: { type: 'string', default: 'quick' },
    seed: { type: 'string', default: '42' },
    only: { type: 'string' },
    'random-only': { type: 'boolean', default: false },
    json: { type: 'string' },
    over: { type: 'string', default: 'in-process' },
  },
  async run(values, io) {
    const profile = String(values.profile);
    if (!isProfileName(profile)) return io.usageError(`--profile must be quick, standard or thorough, not "${profile}"`);
    const seed = Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) return io.usageError(`--seed must be a non-negative integer, not "${String(values.seed)}"`);
    let mutants = MUTANTS;
    if (typeof values.only === 'string') {
      const ids = values.only.split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = ids.filter((id) => !MUTANTS.some((m) => m.id === id));
      if (unknown.length > 0) return io.usageError(`unknown variant(s): ${unknown.join(', ')}`);
      mutants = MUTANTS.filter((m) => ids.includes(m.id));
    }
    const over = String(values.over);
    if (over !== 'in-process' && over !== 'http') return io.usageError(`--over must be in-process or http, not "${over}"`);
    const matrix = await runKillMatrix({
      over,
      profile: PROFILES[profile],
      seed,
      mutants,
      skipPrelude: values['random-only'] === true,
      onProgress: (line) => io.out(`  ${line}\n`),
    });
    io.out(`\n${formatKillMatrix(matrix)}\n`);
    if (typeof values.json === 'string') {
      mkdirSync(dirname(resolve(values.json)), { recursive: true });
      writeFileSync(values.json, `${JSON.stringify(matrix, null, 2)}\n`);
      const html = `${values.json.replace(/\.json$/, '')}.html`;
      await writeKillMatrixHtml(html, matrix);
      io.out(`wrote ${resolve(values.json)} and ${resolve(html)}\n`);
    }
    return matrix.ok ? 0 : 1;
  },
};
