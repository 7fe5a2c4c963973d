// Error classes shared by every role. The split that matters is retryable versus not:
// InputError (bad payload, flag, setting or request) must fail at once and never be retried;
// anything else thrown by a job is treated as infrastructure trouble and retried with backoff.

export class AppError extends Error {
  override name = 'AppError';
}

/** A configuration value is missing or malformed. `variable` names it. */
export class ConfigError extends AppError {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${variable}: ${message}`, options);
  }
}

/** Input that will never become valid by retrying. `field` names the bad part when known. */
export class InputError extends AppError {
  override name = 'InputError';
  constructor(
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(field ? `${field}: ${message}` : message, options);
  }
}

/** Something referenced does not exist (a tenant, an export). Not retryable either. */
export class NotFoundError extends InputError {
  override name = 'NotFoundError';
}

/** A dependency (PostgreSQL, Redis, SMTP, storage) failed; retrying may succeed. */
export class InfraError extends AppError {
  override name = 'InfraError';
}

/** Bad input, or configuration only a restart can fix: retrying the same job cannot help. */
export function isUnrecoverable(error: unknown): boolean {
  return error instanceof InputError || error instanceof ConfigError;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
