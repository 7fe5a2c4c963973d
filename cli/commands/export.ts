// `npm run cli -- export --tenant ID --template NAME --format csv|xlsx|pdf [filters] [--out FILE]`
// and `export --list`. The CLI validates and records the export exactly as the API does, then
// runs the export job in-process (no worker or Redis needed) and copies the file to --out. The
// API instead enqueues the job for the workers.
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase } from '../../core/connect.js';
import { InfraError } from '../../core/errors.js';
import { requestExport } from '../../jobs/exports/create.js';
import { runExport } from '../../jobs/exports/run-export.js';
import { describeTemplates } from '../../reports/index.js';
import { type Command, dateFlag, type Flags } from '../command.js';

/** CLI flag -> filter key; only the flags given become filters, so each template checks its own. */
const FILTER_FLAGS: Record<string, string> = {
  from: 'from',
  to: 'to',
  class: 'classId',
  status: 'status',
  role: 'role',
  term: 'termId',
  'as-of': 'asOf',
};

function filtersFrom(flags: Flags): Record<string, unknown> {
  const filters: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FILTER_FLAGS)) {
    if (flags[flag] === undefined) continue;
    filters[key] =
      flag === 'from' || flag === 'to' || flag === 'as-of' ? dateFlag(flags, flag) : String(flags[flag]);
  }
  return filters;
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'render an export now (csv, xlsx, pdf) into EXPORT_DIR and --out; --list shows templates',
  usage:
    'export --list | export --tenant ID --template NAME --format csv|xlsx|pdf [--from YYYY-MM-DD] [--to YYYY-MM-DD] ' +
    '[--class ID] [--status S] [--role R] [--term ID] [--as-of YYYY-MM-DD] [--requested-by USER_ID] [--out FILE]',
  flags: {
    list: { type: 'boolean' },
    tenant: { type: 'string' },
    template: { type: 'string' },
    format: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    class: { type: 'string' },
    status: { type: 'string' },
    role: { type: 'string' },
    term: { type: 'string' },
    'as-of': { type: 'string' },
    'requested-by': { type: 'string' },
    out: { type: 'string' },
  },
  async run(ctx, flags) {
    if (flags.list) {
      ctx.print({ templates: describeTemplates() });
      return;
    }
    const tenantId = String(flags.tenant ?? '');
    const filters = filtersFrom(flags);
    const database = await openDatabase(ctx.config, { log: ctx.log });
    try {
      const record = await requestExport(database.db, {
        tenantId,
        request: { template: flags.template, format: flags.format, filters },
        requestedBy: flags['requested-by'] === undefined ? null : String(flags['requested-by']),
        config: ctx.config,
        now: ctx.clock.now(),
      });
      ctx.say(`export ${record.id}: ${record.template_id} as ${record.format}, running in-process`);
      const jobCtx = {
        db: database.db,
        log: ctx.log.child({ exportId: record.id }),
        clock: ctx.clock,
        config: ctx.config,
        signal: ctx.stopSignal,
        jobId: record.job_id ?? `export.${record.id}`,
        attempt: 1,
        async progress(value: number | Record<string, unknown>) {
          if (typeof value === 'object') ctx.log.debug(value, 'export progress');
        },
        async enqueue(): Promise<string> {
          throw new InfraError('the CLI export runs in-process and enqueues nothing');
        },
      };
      const result = await runExport({ exportId: record.id, tenantId }, jobCtx);
      const file = result.storageKey ? path.resolve(ctx.config.EXPORT_DIR, result.storageKey) : null;
      let out: string | null = null;
      if (flags.out !== undefined && file) {
        out = path.resolve(String(flags.out));
        await copyFile(file, out);
      }
      ctx.say(`done: ${result.rows ?? 0} rows, ${result.size ?? 0} bytes${out ? ` -> ${out}` : ''}`);
      ctx.print({ ...result, file, out });
    } finally {
      await database.close();
    }
  },
};
