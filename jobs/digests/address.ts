// Guardian emails are not checked on import (sql/0002), so the digest checks them, and every
// value that lands in a mail header is stripped of line breaks: a name like "Eve\r\nBcc: x@y"
// must stay one harmless header value, never a second header.

// Deliberately plain: one @, a local part without spaces, quotes, brackets or separators, and a
// dotted hostname. Quoted local parts and address literals are legal but never seen in school
// data, and refusing them keeps the envelope simple.
const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function isDeliverableAddress(value: string | null | undefined): value is string {
  if (!value) return false;
  if (value.length > 254) return false;
  const at = value.lastIndexOf('@');
  if (at < 1 || at > 64) return false;
  const local = value.slice(0, at);
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false;
  return ADDRESS.test(value);
}

/** One line of text for a header: control characters (CR, LF, tab, NUL...) become spaces. */
export function headerSafe(value: string): string {
  // Built from char codes so the pattern holds no literal control characters.
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029 ? ' ' : char;
  }
  return out.replace(/\s+/g, ' ').trim();
}
