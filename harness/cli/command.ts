/** The shape of one CLI command: its options (for node:util parseArgs), help text and body. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
  /**
   * A usage error (the arguments are wrong): prints the message, the command's usage line and
   * where its options are told, to stderr; returns exit status 2.
   */
  usageError(message: string): number;
  /**
   * Any other error: prints one line of cause and one of remedy to stderr, never the usage;
   * returns `status` (default 2).
   */
  fail(cause: string, remedy: string, status?: number): number;
  /** true when `out` is the process's own stdout (a live progress line may be drawn on it) */
  live?: boolean;
}

/** The two lines every error is: "<prefix>: <cause>" and "remedy: <remedy>". */
export function errorText(prefix: string, cause: string, remedy: string): string {
  return `${prefix}: ${cause}\nremedy: ${remedy}\n`;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
  multiple?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  details: string[];
  options: Record<string, OptionSpec>;
  /** whether the command takes positional arguments */
  positionals?: boolean;
  run(values: Record<string, string | boolean | string[] | undefined>, io: CommandIO, positionals: string[]): number | Promise<number>;
}
