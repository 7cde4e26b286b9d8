/**
 * Writes a verification kit (spec §5): the recorded runs, the evidence for every request derived
 * from them, the public keys, and a manifest of every file's sha256 signed by a key made for this
 * kit alone. `failclosed verify DIR` (verify.ts) checks it contacting nothing.
 *
 * The harness key's secret is never written: it signs the manifest and is dropped. What the
 * signature proves is that the files are the ones the harness wrote under that key — a third
 * party who wants more than integrity pins the key (`verify --harness-key`) when the kit is handed
 * over.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { History } from '../../model/history.ts';
import { buildHistoryIndex } from '../../model/invariants/history-index.ts';
import type { JsonValue } from '../../model/profile/canonical-json.ts';
import { canonicalize, parseStrictJson } from '../../model/profile/canonical-json.ts';
import type { KeyId } from '../../model/profile/signing.ts';
import { generateKeyPair, publicKeyToText, signCanonical } from '../../model/profile/signing.ts';
import { utf8Encode } from '../../model/profile/encoding.ts';
import type { HarnessKeyFile, KitKeys, KitManifest, KitVersion, ManifestEntry } from './kit-files.ts';
import {
  CONTROL_PLANE_KEYS_FILE,
  HARNESS_KEY_FILE,
  IDENTITY_KEYS_FILE,
  KIT_JSON_LIMITS,
  KIT_VERSION,
  KIT_VERSION_1,
  MANIFEST_FILE,
  SIGNATURE_FILE,
  comparePaths,
  deriveRunFiles,
  derivedFileBytes,
  gzipHistory,
  historyJson,
  historyPath,
  manifestText,
  prettyJson,
  sameKeys,
  signatureText,
} from './kit-files.ts';

export interface KitMeta {
  target: string;
  seed: number;
  profile: string;
  verdict: string;
}

export interface KitOptions {
  /** the format to write: failclosed-kit/2 (default); /1 only to test that verify still reads it */
  version?: KitVersion;
}

export interface KitSummary {
  dir: string;
  runs: number;
  requests: number;
  directCalls: number;
  /** every file written, manifest and signature included */
  files: number;
  bytes: number;
  harnessKeyId: string;
  /** base64url of the harness public key: what a recipient pins */
  harnessPublicKey: string;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function assertEmptyOrAbsent(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  // A file left in the folder would be an unlisted file: the kit would not verify.
  if (entries.length > 0) throw new Error(`${dir} is not empty: a kit is written into an empty or new folder`);
}

function keysOf(histories: readonly History[]): KitKeys {
  const [first] = histories;
  const keys: KitKeys = { identityKeys: [...(first?.keys.identityKeys ?? [])], controlPlaneKeys: [...(first?.keys.controlPlaneKeys ?? [])] };
  for (const [run, history] of histories.entries()) {
    // One kit, one key set: the verifier re-derives every run with the kit's keys.
    if (!sameKeys(keys, history.keys)) throw new Error(`run ${run} was recorded with other keys than run 0: write one kit per key set`);
  }
  return keys;
}

export async function writeKit(dir: string, histories: History[], meta: KitMeta, options: KitOptions = {}): Promise<KitSummary> {
  const version = options.version ?? KIT_VERSION;
  await assertEmptyOrAbsent(dir);
  const keys = keysOf(histories);
  const harnessKey = generateKeyPair(`ed25519/harness-${randomBytes(6).toString('hex')}` as KeyId);
  const harnessKeyFile: HarnessKeyFile = { key_id: harnessKey.keyId, public_key: publicKeyToText(harnessKey.publicKey) };

  const contents = new Map<string, Uint8Array>();
  contents.set(IDENTITY_KEYS_FILE, utf8Encode(prettyJson(keys.identityKeys)));
  contents.set(CONTROL_PLANE_KEYS_FILE, utf8Encode(prettyJson(keys.controlPlaneKeys)));
  contents.set(HARNESS_KEY_FILE, utf8Encode(prettyJson(harnessKeyFile)));
  let requests = 0;
  let directCalls = 0;
  for (const [run, history] of histories.entries()) {
    const text = historyJson(history);
    // Derive from the history as a verifier will read it back (undefined fields gone, strictly parsed).
    const recorded = parseStrictJson(text, KIT_JSON_LIMITS) as unknown as History;
    const index = buildHistoryIndex(recorded);
    if (version === KIT_VERSION_1) {
      contents.set(historyPath(version, run), utf8Encode(text));
      for (const [path, content] of deriveRunFiles(recorded, run, index).files) contents.set(path, derivedFileBytes(path, content));
    } else {
      // kit/2: the history alone; everything kit/1 derived from it, the verifier derives.
      contents.set(historyPath(version, run), gzipHistory(text));
    }
    requests += index.ops.length;
    directCalls += index.directCalls.length;
  }

  const files: ManifestEntry[] = [...contents.entries()]
    .map(([path, bytes]) => ({ path, sha256: sha256Hex(bytes) }))
    .sort((a, b) => comparePaths(a.path, b.path));
  const manifest: KitManifest = {
    version,
    created_at: new Date().toISOString(),
    target: meta.target,
    seed: meta.seed,
    profile: meta.profile,
    verdict: meta.verdict,
    files,
    harness_key_id: harnessKey.keyId,
  };
  // Sign the manifest exactly as written and read back (canonical JSON of the parsed file).
  const manifestBytes = utf8Encode(manifestText(manifest));
  const signed = parseStrictJson(manifestBytes, KIT_JSON_LIMITS);
  if (canonicalize(signed) !== canonicalize(manifest as unknown as JsonValue)) throw new Error('the manifest does not survive its own serialisation');
  contents.set(MANIFEST_FILE, manifestBytes);
  contents.set(SIGNATURE_FILE, utf8Encode(signatureText(signCanonical(signed, harnessKey.secretKey))));
  harnessKey.secretKey.fill(0);

  let bytes = 0;
  for (const [path, content] of contents) {
    const target = join(dir, ...path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content, { flag: 'wx' });
    bytes += content.length;
  }
  return {
    dir,
    runs: histories.length,
    requests,
    directCalls,
    files: contents.size,
    bytes,
    harnessKeyId: harnessKey.keyId,
    harnessPublicKey: harnessKeyFile.public_key,
  };
}
