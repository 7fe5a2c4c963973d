// Everything that comes from data (names, reasons, the school's name) is escaped before it goes
// into HTML: "O'Brien", "Zoë" and "<b>" must all read exactly as typed.
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

const HEX = /^#[0-9A-Fa-f]{6}$/;

/** A colour for a style attribute: a #rrggbb value as stored, or the fallback. */
export function safeColor(value: string | null | undefined, fallback: string): string {
  return value && HEX.test(value) ? value : fallback;
}
