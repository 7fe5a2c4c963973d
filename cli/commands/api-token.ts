// `npm run cli -- api-token --tenant ID --user ID [--hours N]`: mint a bearer token for the export
// API. The user must be an active admin or principal of that tenant (checked now and again on
// every request). Needs SIGNING_SECRET, the same one the dashboard uses.
import { openDatabase } from '../../core/connect.js';
import { mintApiToken } from '../../dashboard/api-auth.js';
import { type Command, intFlag } from '../command.js';

export const apiTokenCommand: Command = {
  name: 'api-token',
  summary: 'mint a bearer token for the export API for a tenant admin or principal',
  usage: 'api-token --tenant ID --user ID [--hours N]',
  flags: { tenant: { type: 'string' }, user: { type: 'string' }, hours: { type: 'string' } },
  async run(ctx, flags) {
    const hours = intFlag(flags, 'hours', ctx.config.EXPORT_API_TOKEN_TTL_HOURS, 1, 24 * 366);
    const database = await openDatabase(ctx.config, { log: ctx.log });
    try {
      const minted = await mintApiToken(database.db, ctx.config, {
        tenantId: String(flags.tenant ?? ''),
        userId: String(flags.user ?? ''),
        now: ctx.clock.now(),
        hours,
      });
      ctx.say(`token for user ${flags.user}, valid until ${minted.expiresAt.toISOString()}`);
      ctx.print({
        token: minted.token,
        expiresAt: minted.expiresAt,
        header: `Authorization: Bearer ${minted.token}`,
      });
    } finally {
      await database.close();
    }
  },
};
