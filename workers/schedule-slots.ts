// Pure slot arithmetic for the scheduler and `cli schedule`: which cron slots fall in a window,
// evaluated in a time zone, and the job id that names a slot.
import { CronExpressionParser } from 'cron-parser';

/** `<kind>.<tenantId|all>.<YYYYMMDDTHHMMZ>`: the same slot gives the same id in every scheduler. */
export function slotJobId(kind: string, tenantId: string | undefined, at: Date): string {
  const stamp = at.toISOString(); // 2026-03-16T02:00:00.000Z
  const compact = `${stamp.slice(0, 4)}${stamp.slice(5, 7)}${stamp.slice(8, 10)}T${stamp.slice(11, 13)}${stamp.slice(14, 16)}Z`;
  return `${kind}.${tenantId ?? 'all'}.${compact}`;
}

/** Slots strictly after `after` and at or before `until`, oldest first (bounded, for safety). */
export function slotsBetween(cron: string, timeZone: string, after: Date, until: Date, limit = 1000): Date[] {
  if (until.getTime() <= after.getTime()) return [];
  const expression = CronExpressionParser.parse(cron, { currentDate: after, endDate: until, tz: timeZone });
  const slots: Date[] = [];
  while (slots.length < limit && expression.hasNext()) {
    const at = expression.next().toDate();
    if (at.getTime() > until.getTime()) break;
    slots.push(at);
  }
  return slots;
}

export function nextSlot(cron: string, timeZone: string, after: Date): Date {
  return CronExpressionParser.parse(cron, { currentDate: after, tz: timeZone }).next().toDate();
}
