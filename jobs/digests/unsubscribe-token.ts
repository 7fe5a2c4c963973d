// Unsubscribe links: a signed token naming the tenant and guardian (core/signing.ts, purpose
// 'unsubscribe'). It does not expire: an old digest's link must still work years later, and all
// it can do is turn digests off for that one guardian.
import { type Config, requireSigningSecret } from '../../core/config.js';
import { signToken } from '../../core/signing.js';

/** Where the app mounts createUnsubscribeRouter (dashboard/unsubscribe.ts). */
export const UNSUBSCRIBE_PATH = '/unsubscribe';

export function unsubscribeToken(secret: string, tenantId: string, guardianId: string): string {
  return signToken(secret, { purpose: 'unsubscribe', tenant: tenantId, guardian: guardianId });
}

export function unsubscribeUrl(config: Config, tenantId: string, guardianId: string): string {
  const token = unsubscribeToken(requireSigningSecret(config), tenantId, guardianId);
  return `${config.publicUrl}${UNSUBSCRIBE_PATH}?token=${encodeURIComponent(token)}`;
}
