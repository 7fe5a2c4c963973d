// Signed download links: the token names the tenant, the export and the expiry, so a link works
// for exactly one file until the file expires, and editing any of it breaks the signature.
import type { Config } from '../../core/config.js';
import { requireSigningSecret } from '../../core/config.js';
import { signToken, verifyToken } from '../../core/signing.js';

export const DOWNLOAD_PURPOSE = 'download';

export function downloadToken(config: Config, tenantId: string, exportId: string, expiresAt: Date): string {
  return signToken(requireSigningSecret(config), {
    purpose: DOWNLOAD_PURPOSE,
    tenantId,
    exportId,
    exp: Math.floor(expiresAt.getTime() / 1000),
  });
}

export function verifyDownloadToken(config: Config, token: string, now: Date) {
  const claims = verifyToken(requireSigningSecret(config), token, DOWNLOAD_PURPOSE, now);
  return { tenantId: String(claims.tenantId), exportId: String(claims.exportId) };
}
