/** A `fleetstream` subcommand. Each lives in its own file under `cli/commands/`. */
export interface CliCommand {
  readonly name: string;
  /** Full usage text for `fleetstream <name> --help`. */
  readonly usage: string;
  /** Returns the process exit code. Writes results to stdout and diagnostics to stderr. */
  run(argv: string[]): Promise<number>;
}
