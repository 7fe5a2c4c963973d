// CSV as Excel and every other reader expect it: UTF-8 with a BOM (so Excel shows accents),
// RFC 4180 quoting (fields with a comma, quote, CR or LF are quoted, quotes doubled), CRLF line
// ends. Text cells are neutralised against formula injection. Output is batched into ~64 KB
// writes and waits for 'drain', so a slow disk throttles the cursor instead of filling memory.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ReportColumn } from '../reports/types.js';
import { type DocumentInfo, neutraliseFormula, type RowWriter, textOf } from './cells.js';

const BOM = '\uFEFF';
const FLUSH_AT = 64 * 1024;

export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function cell(column: ReportColumn, value: unknown): string {
  const text = textOf(value);
  return csvField(column.type === 'text' ? neutraliseFormula(text) : text);
}

export function createCsvWriter(out: Writable, info: DocumentInfo): RowWriter {
  const { columns } = info;
  let buffer = BOM + columns.map((c) => csvField(neutraliseFormula(c.header))).join(',') + '\r\n';

  async function flush(): Promise<void> {
    if (buffer.length === 0) return;
    const ok = out.write(buffer);
    buffer = '';
    if (!ok) await once(out, 'drain');
  }

  return {
    async write(row) {
      let line = '';
      for (let i = 0; i < columns.length; i++) {
        const column = columns[i]!;
        if (i > 0) line += ',';
        line += cell(column, row[column.key]);
      }
      buffer += line + '\r\n';
      if (buffer.length >= FLUSH_AT) await flush();
    },
    async finish() {
      await flush();
      out.end();
    },
  };
}
