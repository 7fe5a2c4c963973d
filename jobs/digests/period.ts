// Which days a digest covers, computed on the tenant's wall clock: a Friday 01:30 in Kolkata is
// still Thursday afternoon in New York, so "this week" and "today" depend on the school, never on
// the server. Calendar days are 'YYYY-MM-DD' strings (no time zone), as elsewhere in the engine.
import { addDays, daysBetween, parseCalendarDate } from '../../core/dates.js';
import { InputError } from '../../core/errors.js';

export type DigestKind = 'daily' | 'weekly' | 'custom';

export interface DigestPeriod {
  kind: DigestKind;
  from: string;
  to: string;
}

export interface LocalTime {
  date: string;
  /** 0 = Sunday ... 6 = Saturday. */
  weekday: number;
  hour: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function localTime(at: Date, timeZone: string): LocalTime {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    weekday: 'short',
    hour: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    date: `${part('year')}-${part('month')}-${part('day')}`,
    weekday: WEEKDAYS.indexOf(part('weekday')),
    hour: Number(part('hour')),
  };
}

/**
 * The period a digest run covers, on the tenant's local date at `at`:
 * daily = that day; weekly = the Monday-Sunday week containing it. A fixed calendar week (rather
 * than "the last seven days") keeps the exactly-once key stable: a re-run later the same week
 * names the same period and sends nothing new.
 */
export function digestPeriod(kind: 'daily' | 'weekly', at: Date, timeZone: string): DigestPeriod {
  const local = localTime(at, timeZone);
  if (kind === 'daily') return { kind, from: local.date, to: local.date };
  const monday = addDays(local.date, -((local.weekday + 6) % 7));
  return { kind, from: monday, to: addDays(monday, 6) };
}

/** The period of the same length just before, for "change versus the previous period". */
export function previousPeriod(period: { from: string; to: string }): { from: string; to: string } {
  const length = daysBetween(period.from, period.to) + 1;
  return { from: addDays(period.from, -length), to: addDays(period.from, -1) };
}

/** On-demand periods: both ends, in order, at most 366 days (a digest is not an export). */
export function customPeriod(from: string | undefined, to: string | undefined): DigestPeriod {
  if (!from || !to)
    throw new InputError('give both from and to (YYYY-MM-DD), or neither', from ? 'to' : 'from');
  parseCalendarDate(from, 'from');
  parseCalendarDate(to, 'to');
  if (to < from) throw new InputError(`must not be before from (${from})`, 'to');
  if (daysBetween(from, to) > 365) throw new InputError('a digest covers at most 366 days', 'to');
  return { kind: 'custom', from, to };
}
