// What Bull Board may show of a job's data and return value. Operators need the shape of a job
// (tenant, dates, counts) to diagnose it, never a parent's email address or a pupil's name, so the
// board sees a copy with personal data masked. Pure functions: no I/O, the input is never mutated.

export const REDACTED = '[redacted]';

/**
 * Keys that hold personal data or secrets wherever they appear (same spirit as core/logger.ts).
 * Not "name" or "to": payloads use them for report names and date ranges; email addresses under
 * any key are masked anyway.
 */
const PERSONAL_KEYS = new Set(
  [
    'email',
    'emails',
    'recipient',
    'recipients',
    'firstName',
    'first_name',
    'lastName',
    'last_name',
    'fullName',
    'full_name',
    'phone',
    'address',
    'password',
    'passwordHash',
    'password_hash',
    'token',
    'secret',
    'authorization',
  ].map((key) => key.toLowerCase()),
);

// Deliberately loose: a false positive masks a harmless string, a false negative leaks an address.
const EMAIL_PATTERN = /[^\s@<>"'(),;:]+@[^\s@<>"'(),;:]+\.[^\s@<>"'(),;:]+/g;

/** "jane.doe@school.example" -> "j***@school.example": enough to tell two addresses apart. */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return REDACTED;
  return `${address[0]}***${address.slice(at)}`;
}

/** Masks every email-looking substring of a free-text value. */
export function maskEmailsInText(text: string): string {
  return text.replace(EMAIL_PATTERN, (match) => maskEmail(match));
}

/**
 * A dotted path like "recipients.*.email" or "student.name": `*` matches any key or array index.
 * Paths are relative to the value being redacted (the job payload).
 */
function splitPath(path: string): string[] {
  return path.split('.').filter((segment) => segment.length > 0);
}

function matchesAnyPath(location: readonly string[], paths: readonly string[][]): boolean {
  return paths.some(
    (path) =>
      path.length === location.length &&
      path.every((segment, i) => segment === '*' || segment === location[i]),
  );
}

/**
 * A copy of `value` safe to show on the board: values at `personalPaths` (the job definition's
 * `personalData`) and under personal-sounding keys become "[redacted]", and email addresses
 * anywhere else are masked. Cycles and very deep nesting are cut rather than followed.
 */
export function redactPersonalData(value: unknown, personalPaths: readonly string[] = []): unknown {
  const paths = personalPaths.map(splitPath);
  const seen = new WeakSet<object>();

  const visit = (node: unknown, location: string[]): unknown => {
    if (location.length > 0 && matchesAnyPath(location, paths)) return REDACTED;
    if (typeof node === 'string') return maskEmailsInText(node);
    if (node === null || typeof node !== 'object') return node;
    if (seen.has(node) || location.length > 32) return REDACTED;
    seen.add(node);
    if (Array.isArray(node)) return node.map((item, index) => visit(item, [...location, String(index)]));
    if (node instanceof Date) return node;
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      copy[key] =
        PERSONAL_KEYS.has(key.toLowerCase()) && child !== null && child !== undefined
          ? REDACTED
          : visit(child, [...location, key]);
    }
    return copy;
  };

  return visit(value, []);
}

/** A copy of `value` with every email-looking substring masked, keys and structure untouched. */
export function maskEmailsDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskEmailsInText(value);
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) return value.map((item) => maskEmailsDeep(item, depth + 1));
  if (value instanceof Date) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [key, maskEmailsDeep(child, depth + 1)]),
  );
}
