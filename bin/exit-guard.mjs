// A command that ends without a result — nothing left to wait for, an internal error — must never
// read as a pass: until `settled` is called, the exit status is 2 (inconclusive), and if the
// process runs out of work first, it says so on stderr.
export function guardExit() {
  let finished = false;
  process.exitCode = 2;
  process.on('beforeExit', () => {
    if (finished) return;
    process.stderr.write('failclosed: stopped without a result (an internal error: nothing was left to wait for)\nremedy: run again; if it repeats, report it with the command line\n');
    process.exit(2);
  });
  return {
    settled(status) {
      finished = true;
      process.exitCode = status;
    },
    /** a reader that stopped early (`failclosed explore | head`) is not an error of the command */
    readerGone() {
      finished = true;
      process.exit(process.exitCode === 2 ? 0 : process.exitCode);
    },
  };
}
