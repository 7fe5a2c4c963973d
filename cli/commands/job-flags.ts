// Flags shared by `run` and `enqueue`: a job kind and its payload, checked before anything is
// opened so bad input costs nothing and names the flag that is wrong.
import { InputError } from '../../core/errors.js';
import { assertUuid } from '../../core/tenant-scope.js';
import { type JobDefinition, parsePayload } from '../../jobs/define-job.js';
import { jobRegistry } from '../../jobs/registry.js';
import { findDefinition } from '../../workers/queues.js';
import { dateFlag, type FlagSpec, type Flags } from '../command.js';

export const payloadFlags: FlagSpec = {
  tenant: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  full: { type: 'boolean' },
  payload: { type: 'string' },
};

export const payloadUsage = '[--tenant ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--full] [--payload JSON]';

export interface JobInput {
  definition: JobDefinition;
  payload: Record<string, unknown>;
  tenantId?: string;
}

export function jobInputFromFlags(flags: Flags, positionals: string[]): JobInput {
  const kind = positionals[0];
  if (!kind) throw new InputError('name the job kind to run, e.g. run <kind>', 'kind');
  if (positionals.length > 1) throw new InputError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  let payload: Record<string, unknown> = {};
  if (flags.payload !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(flags.payload));
    } catch (error) {
      throw new InputError(
        `is not valid JSON (${(error as Error).message}); pass an object like '{"key":"value"}'`,
        '--payload',
      );
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InputError('must be a JSON object like \'{"key":"value"}\'', '--payload');
    }
    payload = parsed as Record<string, unknown>;
  }
  const tenantId = flags.tenant === undefined ? undefined : String(flags.tenant);
  if (tenantId !== undefined) {
    assertUuid(tenantId, '--tenant');
    payload.tenantId = tenantId;
  }
  const from = dateFlag(flags, 'from');
  const to = dateFlag(flags, 'to');
  if (from) payload.from = from;
  if (to) payload.to = to;
  if (flags.full) payload.full = true;
  const definition = findDefinition(jobRegistry, kind);
  // Validate now: a payload of the wrong shape is refused before the database or Redis is touched.
  parsePayload(definition, payload);
  return { definition, payload, tenantId };
}
