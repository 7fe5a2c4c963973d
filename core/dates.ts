// Calendar dates as YYYY-MM-DD strings, the form payloads, flags and filters use. Arithmetic is
// in UTC so a date never shifts with the process's time zone or a daylight-saving change.
import { InputError } from './errors.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar date: JavaScript rolls 30 February over into March; a real date survives the round trip. */
export function isCalendarDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
}

/** The value if it is a calendar date; an InputError naming the field otherwise. */
export function parseCalendarDate(value: string, field: string): string {
  if (!DATE.test(value)) {
    throw new InputError(`must be a date as YYYY-MM-DD, got ${JSON.stringify(value).slice(0, 40)}`, field);
  }
  if (!isCalendarDate(value)) throw new InputError(`is not a calendar date: ${value}`, field);
  return value;
}

export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
