// Pure pieces of the dashboard: redaction of personal data, Basic auth parsing, the lockout clock.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { ConfigError } from '../../core/errors.js';
import {
  constantTimeEqual,
  generateDashboardPassword,
  LoginLockout,
  parseBasicAuth,
  requireDashboardCredentials,
} from '../../dashboard/auth.js';
import { maskEmail, maskEmailsDeep, REDACTED, redactPersonalData } from '../../dashboard/redaction.js';
import { testConfig } from '../helpers/context.js';

describe('redactPersonalData', () => {
  const payload = {
    tenantId: '7f1c0e6a-0000-4000-8000-000000000001',
    from: '2026-03-01',
    to: '2026-03-31',
    parent: { email: 'jane.doe@school.example', displayName: 'Jane Doe', locale: 'fr' },
    students: [
      { id: 's1', fullLegalName: 'Ada Doe' },
      { id: 's2', fullLegalName: 'Alan Doe' },
    ],
    note: 'bounce from carer+1@home.example.org at 09:00',
  };

  it('hides the paths a job declares, masks emails anywhere and keeps the rest', () => {
    const shown = redactPersonalData(payload, ['parent.displayName', 'students.*.fullLegalName']);
    expect(shown).toEqual({
      tenantId: payload.tenantId,
      from: '2026-03-01',
      to: '2026-03-31',
      parent: { email: REDACTED, displayName: REDACTED, locale: 'fr' },
      students: [
        { id: 's1', fullLegalName: REDACTED },
        { id: 's2', fullLegalName: REDACTED },
      ],
      note: 'bounce from c***@home.example.org at 09:00',
    });
    const text = JSON.stringify(shown);
    for (const secret of ['jane.doe@', 'Jane Doe', 'Ada Doe', 'Alan Doe', 'carer+1@']) {
      expect(text).not.toContain(secret);
    }
  });

  it('does not mutate its input and copes with cycles, null and primitives', () => {
    const before = structuredClone(payload);
    redactPersonalData(payload, ['parent']);
    expect(payload).toEqual(before);
    const cyclic: Record<string, unknown> = { id: 1 };
    cyclic.self = cyclic;
    expect(redactPersonalData(cyclic)).toEqual({ id: 1, self: REDACTED });
    expect(redactPersonalData(null)).toBeNull();
    expect(redactPersonalData(42)).toBe(42);
    expect(redactPersonalData('ops@example.org')).toBe('o***@example.org');
    // A whole subtree named by a path goes, whatever it holds.
    expect(redactPersonalData(payload, ['students'])).toMatchObject({ students: REDACTED });
  });

  it('masks emails in failure texts deep inside API answers', () => {
    expect(maskEmail('x@y.example')).toBe('x***@y.example');
    const body = { jobs: [{ failedReason: '550 no such user a.b@c.example', stacktrace: ['at d@e.fr'] }] };
    expect(maskEmailsDeep(body)).toEqual({
      jobs: [{ failedReason: '550 no such user a***@c.example', stacktrace: ['at d***@e.fr'] }],
    });
  });
});

describe('dashboard credentials', () => {
  it('refuses to run without DASHBOARD_USER and DASHBOARD_PASSWORD, naming what to set', () => {
    expect(() => requireDashboardCredentials(testConfig())).toThrow(ConfigError);
    expect(() => requireDashboardCredentials(testConfig({ DASHBOARD_USER: 'ops' }))).toThrow(
      /DASHBOARD_PASSWORD.*set both/,
    );
    expect(
      requireDashboardCredentials(testConfig({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: '12345678' })),
    ).toEqual({ user: 'ops', password: '12345678' });
  });

  it('generates long, distinct, URL-safe passwords the config accepts', () => {
    const a = generateDashboardPassword();
    const b = generateDashboardPassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(a).not.toBe(b);
    expect(testConfig({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: a }).DASHBOARD_PASSWORD).toBe(a);
  });

  it('parses Basic headers and compares in constant time', () => {
    const header = `Basic ${Buffer.from('ops:pa:ss').toString('base64')}`;
    expect(parseBasicAuth(header)).toEqual({ user: 'ops', password: 'pa:ss' });
    expect(parseBasicAuth('Bearer abc')).toBeUndefined();
    expect(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeUndefined();
    expect(parseBasicAuth(undefined)).toBeUndefined();
    expect(constantTimeEqual('secret-1', 'secret-1')).toBe(true);
    expect(constantTimeEqual('secret-1', 'secret-2')).toBe(false);
    expect(constantTimeEqual('short', 'a much longer value')).toBe(false);
  });
});

describe('LoginLockout', () => {
  it('locks a client after N failures for the lock period, others unaffected, then forgives', () => {
    const clock = new ManualClock('2026-03-16T08:00:00Z');
    const lockout = new LoginLockout({ maxFailures: 3, lockMs: 60_000 }, clock);
    expect(lockout.recordFailure('10.0.0.1')).toBe(0);
    expect(lockout.recordFailure('10.0.0.1')).toBe(0);
    expect(lockout.retryAfterMs('10.0.0.1')).toBe(0);
    expect(lockout.recordFailure('10.0.0.1')).toBe(60_000);
    clock.advance(15_000);
    expect(lockout.retryAfterMs('10.0.0.1')).toBe(45_000);
    expect(lockout.retryAfterMs('10.0.0.2')).toBe(0);
    clock.advance(45_001);
    expect(lockout.retryAfterMs('10.0.0.1')).toBe(0);
    // The slate is clean after the lock: one more failure does not lock again.
    expect(lockout.recordFailure('10.0.0.1')).toBe(0);
  });

  it('forgets failures older than the window and resets on success', () => {
    const clock = new ManualClock('2026-03-16T08:00:00Z');
    const lockout = new LoginLockout({ maxFailures: 2, lockMs: 60_000 }, clock);
    lockout.recordFailure('a');
    clock.advance(61_000);
    expect(lockout.recordFailure('a')).toBe(0);
    lockout.recordSuccess('a');
    expect(lockout.recordFailure('a')).toBe(0);
  });

  it('keeps at most maxClients records', () => {
    const clock = new ManualClock('2026-03-16T08:00:00Z');
    const lockout = new LoginLockout({ maxFailures: 1, lockMs: 60_000 }, clock, 2);
    lockout.recordFailure('a');
    lockout.recordFailure('b');
    lockout.recordFailure('c');
    expect(lockout.retryAfterMs('a')).toBe(0); // evicted, oldest first
    expect(lockout.retryAfterMs('c')).toBe(60_000);
  });
});
