/**
 * Writes schemas/profile-defs.schema.json from model/profile/ (`npx tsx conformance/contract/generate.ts`).
 * contract.test.ts rebuilds it in memory and fails when the committed file differs.
 */
import { writeFileSync } from 'node:fs';
import { PROFILE_DEFS_FILE, profileDefsText } from './profile-defs.ts';

const target = new URL(`schemas/${PROFILE_DEFS_FILE}`, import.meta.url);
writeFileSync(target, profileDefsText());
process.stdout.write(`wrote ${target.pathname}\n`);
