// Where the blast workers find their files, from the environment with the same variables
// and defaults (relative to the repository root) as the Rust, Go and C# workers: the
// directory (accounts and customers), the outbox and the activity log.

/** The environment variable naming the directory JSON file. */
export const DATA_ENV = "BLAST_DATA";
/** The environment variable naming the outbox (one JSON line per mail sent). */
export const OUTBOX_ENV = "BLAST_OUTBOX";
/** The environment variable naming the activity log (one JSON line per activity). */
export const ACTIVITIES_ENV = "BLAST_ACTIVITIES";

export const DEFAULT_DATA = "examples/rust/blast/data/directory.json";
export const DEFAULT_OUTBOX = "blast-outbox.jsonl";
export const DEFAULT_ACTIVITIES = "blast-activities.jsonl";

/** The files the blast workers use. */
export interface Paths {
  readonly directory: string;
  readonly outbox: string;
  readonly activities: string;
}

/** The paths from BLAST_DATA, BLAST_OUTBOX and BLAST_ACTIVITIES, or the defaults. */
export function pathsFromEnv(env: NodeJS.ProcessEnv = process.env): Paths {
  const pick = (name: string, fallback: string): string => env[name] || fallback;
  return {
    directory: pick(DATA_ENV, DEFAULT_DATA),
    outbox: pick(OUTBOX_ENV, DEFAULT_OUTBOX),
    activities: pick(ACTIVITIES_ENV, DEFAULT_ACTIVITIES),
  };
}
