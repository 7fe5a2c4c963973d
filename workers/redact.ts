// Personal data named by a job definition (personalData paths such as "email" or
// "recipients.*.email") is replaced before a payload leaves the job: in run history and on the board.
export const REDACTED = '[redacted]';

export function redactPaths(value: unknown, paths: readonly string[] | undefined): unknown {
  if (!paths?.length || value === null || typeof value !== 'object') return value;
  let copy = structuredClone(value) as unknown;
  for (const path of paths) copy = redactPath(copy, path.split('.'));
  return copy;
}

function redactPath(value: unknown, segments: string[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  const [head, ...rest] = segments;
  if (head === undefined) return value;
  const record = value as Record<string, unknown>;
  const keys = head === '*' ? Object.keys(record) : [head];
  for (const key of keys) {
    if (!(key in record)) continue;
    record[key] = rest.length === 0 ? REDACTED : redactPath(record[key], rest);
  }
  return record;
}
