/**
 * Runs the benchmarks: `npm run bench`, or `npm run bench -- <name>…` for some of them.
 *
 * Each bench module exports `async function run(): Promise<BenchResult>`. Its lines are printed
 * as they are. A target is a ratio to a baseline measured in the same run (ratio-target.ts); a
 * missed target is printed (BELOW TARGET), not failed — these are benchmarks, not timed tests. A
 * result that is not `ok` (a baseline that could not be measured, a run that measured something
 * other than it claims, or ran out of time) makes the whole run exit non-zero, so CI cannot
 * mistake a broken bench for a slow one.
 */

export interface BenchResult {
  name: string;
  /** printed as they are, one per line */
  lines: string[];
  /** false when the numbers must not be trusted; the lines say why */
  ok: boolean;
}

interface BenchModule {
  run(): Promise<BenchResult>;
}

/** Add new benches here. Loaded lazily, so that running one does not import the others. */
const BENCHES: readonly { name: string; load: () => Promise<BenchModule> }[] = [
  { name: 'model', load: () => import('./model.bench.ts') },
  { name: 'suite', load: () => import('./suite.bench.ts') },
  { name: 'mutants', load: () => import('./mutants.bench.ts') },
  { name: 'reference-http', load: () => import('./reference-http.bench.ts') },
  { name: 'suite-http', load: () => import('./suite-http.bench.ts') },
  { name: 'replicas-postgres', load: () => import('./replicas-postgres.bench.ts') },
  { name: 'parallel-http', load: () => import('./parallel-http.bench.ts') },
  { name: 'container', load: () => import('./container.bench.ts') },
  { name: 'blind-gates', load: () => import('./blind-gates.bench.ts') },
];

async function main(args: readonly string[]): Promise<number> {
  const unknown = args.filter((name) => !BENCHES.some((bench) => bench.name === name));
  if (unknown.length > 0) {
    console.error(`unknown bench: ${unknown.join(', ')} (known: ${BENCHES.map((bench) => bench.name).join(', ')})`);
    return 2;
  }
  let failed = 0;
  for (const bench of BENCHES) {
    if (args.length > 0 && !args.includes(bench.name)) continue;
    let result: BenchResult;
    try {
      result = await (await bench.load()).run();
    } catch (error) {
      console.error(`${bench.name}: FAILED: ${(error as Error).stack ?? String(error)}`);
      failed++;
      continue;
    }
    for (const line of result.lines) console.log(line);
    if (!result.ok) {
      console.log(`${result.name}: NOT OK (see above)`);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
