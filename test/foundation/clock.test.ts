import { describe, expect, it } from 'vitest';
import { localDate } from '../../core/clock.js';

describe('localDate', () => {
  it("gives each school's own calendar date for one instant", () => {
    const at = new Date('2026-03-19T20:00:00Z');
    expect(localDate(at, 'Asia/Kolkata')).toBe('2026-03-20');
    expect(localDate(at, 'America/New_York')).toBe('2026-03-19');
    expect(localDate(at, 'UTC')).toBe('2026-03-19');
    // Just before midnight UTC on 31 December is already next year in Auckland.
    expect(localDate(new Date('2026-12-31T23:30:00Z'), 'Pacific/Auckland')).toBe('2027-01-01');
  });
});
