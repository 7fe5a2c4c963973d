import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken, verifyToken } from '../../core/signing.js';
import { DirectoryStorage, readStored } from '../../core/storage.js';

const SECRET = 'x'.repeat(40);
const NOW = new Date('2026-03-16T12:00:00Z');

describe('signed tokens', () => {
  it('round-trip, and refuse edits, other purposes, other secrets and expiry', () => {
    const exp = NOW.getTime() / 1000 + 60;
    const token = signToken(SECRET, { purpose: 'download', tenant: 't1', id: 'e1', exp });
    expect(verifyToken(SECRET, token, 'download', NOW)).toMatchObject({ tenant: 't1', id: 'e1' });

    const [body, sig] = token.split('.') as [string, string];
    const edited = Buffer.from(JSON.stringify({ purpose: 'download', tenant: 't2', id: 'e1', exp })).toString(
      'base64url',
    );
    expect(() => verifyToken(SECRET, `${edited}.${sig}`, 'download', NOW)).toThrow(/invalid signature/);
    const extended = Buffer.from(
      JSON.stringify({ purpose: 'download', tenant: 't1', id: 'e1', exp: exp + 1e6 }),
    ).toString('base64url');
    expect(() => verifyToken(SECRET, `${extended}.${sig}`, 'download', NOW)).toThrow(/invalid signature/);
    expect(() => verifyToken(SECRET, token, 'unsubscribe', NOW)).toThrow(/not a unsubscribe token/);
    expect(() => verifyToken('y'.repeat(40), token, 'download', NOW)).toThrow(/invalid signature/);
    expect(() => verifyToken(SECRET, token, 'download', new Date(exp * 1000 + 1))).toThrow(/expired/);
    expect(() => verifyToken(SECRET, `${body}`, 'download', NOW)).toThrow(/malformed/);
  });
});

describe('directory storage', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'storage-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('writes atomically and reports size and checksum', async () => {
    const storage = new DirectoryStorage(root);
    const stored = await storage.writeAtomically('tenant/a.csv', async (out) => {
      out.write('héllo,');
      out.end('world\n');
    });
    expect(stored.size).toBe(Buffer.byteLength('héllo,world\n'));
    expect(stored.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await readStored(storage, 'tenant/a.csv')).toString()).toBe('héllo,world\n');
  });

  it('leaves nothing behind when the producer fails half-way', async () => {
    const storage = new DirectoryStorage(root);
    await expect(
      storage.writeAtomically('tenant/b.csv', async (out) => {
        out.write('partial');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await storage.exists('tenant/b.csv')).toBe(false);
    expect((await readdir(path.join(root, 'tenant'))).sort()).toEqual(['a.csv']);
  });

  it('refuses keys that could escape the root, and sweeps stale temporaries', async () => {
    const storage = new DirectoryStorage(root);
    expect(() => storage.path('../etc/passwd')).toThrow(/not a safe storage key/);
    expect(() => storage.path('/abs')).toThrow(/not a safe storage key/);
    const stale = path.join(root, 'tenant', '.partial-dead-c.csv');
    await (await import('node:fs/promises')).writeFile(stale, 'x');
    await utimes(stale, new Date('2026-01-01'), new Date('2026-01-01'));
    expect(await storage.removeStaleTemporaries(3_600_000, NOW)).toBe(1);
    expect((await readdir(path.join(root, 'tenant'))).sort()).toEqual(['a.csv']);
  });
});
