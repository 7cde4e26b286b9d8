/** The shape of one CLI command: its options (for node:util parseArgs), help text and body. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
  /** prints the message and the command's usage to stderr; returns exit status 2 */
  usageError(message: string): number;
  /** true when `out` is the process's own stdout (a live progress line may be drawn on it) */
  live?: boolean;
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
