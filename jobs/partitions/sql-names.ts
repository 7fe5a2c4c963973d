// Identifiers in generated DDL: partition names come from our own naming or from pg_class, and
// are still quoted so an unusual name can never change the statement.
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
