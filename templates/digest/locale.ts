// Which language and formats a guardian's digest uses: the guardian's locale when the templates
// know its language, else the school's, else English (US). Formatting (dates, numbers) follows
// the full tag, so en-GB, en-IN and en-US share words but not date order.
import { type DigestLanguage, messages } from './messages.js';

export interface DigestLocale {
  /** BCP 47 tag used for Intl formatting, e.g. 'en-GB', 'fr-FR'. */
  tag: string;
  language: DigestLanguage;
}

function known(locale: string | null | undefined): DigestLocale | undefined {
  if (!locale) return undefined;
  let tag: string;
  try {
    tag = Intl.getCanonicalLocales(locale.replace('_', '-'))[0]!;
  } catch {
    return undefined;
  }
  const language = tag.split('-')[0]!.toLowerCase();
  if (!(language in messages)) return undefined;
  return { tag, language: language as DigestLanguage };
}

export function resolveDigestLocale(
  guardianLocale: string | null | undefined,
  tenantLocale: string | null | undefined,
): DigestLocale {
  return known(guardianLocale) ?? known(tenantLocale) ?? { tag: 'en-US', language: 'en' };
}

export interface Formatters {
  /** "Monday, March 16" (en-US), "Monday 16 March" (en-GB), "lundi 16 mars" (fr). */
  day(date: string): string;
  /** The period, e.g. "Mar 16 – 22, 2026". */
  range(from: string, to: string): string;
  /** A percentage given as 0-100, one decimal: "92.5%", "92,5 %". */
  percent(value: number): string;
  /** A signed change in points, one decimal: "+1.5", "−0.3". */
  points(value: number): string;
  integer(value: number): string;
}

const utc = (date: string) => new Date(`${date}T00:00:00Z`);

// Intl formatters are costly to build (a fraction of a millisecond each) and immutable, so each
// locale's set is built once per process.
const cache = new Map<string, Formatters>();

export function formatters(locale: DigestLocale): Formatters {
  let built = cache.get(locale.tag);
  if (!built) {
    built = buildFormatters(locale);
    cache.set(locale.tag, built);
  }
  return built;
}

function buildFormatters(locale: DigestLocale): Formatters {
  const day = new Intl.DateTimeFormat(locale.tag, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    timeZone: 'UTC',
  });
  const range = new Intl.DateTimeFormat(locale.tag, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  });
  const percent = new Intl.NumberFormat(locale.tag, {
    style: 'percent',
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const points = new Intl.NumberFormat(locale.tag, {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
    signDisplay: 'exceptZero',
  });
  const integer = new Intl.NumberFormat(locale.tag, { maximumFractionDigits: 0 });
  return {
    day: (date) => day.format(utc(date)),
    range: (from, to) => (from === to ? range.format(utc(from)) : range.formatRange(utc(from), utc(to))),
    percent: (value) => percent.format(value / 100),
    points: (value) => points.format(value),
    integer: (value) => integer.format(value),
  };
}
