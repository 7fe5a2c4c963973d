// CSV as Excel and every other reader expect it: UTF-8 with a BOM (so Excel shows accents),
// RFC 4180 quoting (fields with a comma, quote, CR or LF are quoted, quotes doubled), CRLF line
// ends. Text cells are neutralised against formula injection.
// Each row is encoded straight into a 64 KB Buffer that is handed to the stream when full (then
// 'drain' is awaited, so a slow disk throttles the cursor instead of filling memory). Encoding into
// a Buffer, instead of growing a 64 KB string rope that the stream flattens and converts at each
// flush, skips one copy of every byte and the rope's per-row nodes.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ReportColumn } from '../reports/types.js';
import { type DocumentInfo, neutraliseFormula, type RowWriter, textOf } from './cells.js';

const BOM = '\uFEFF';
const CHUNK_BYTES = 64 * 1024;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_BYTES_PER_CHAR = 3;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function cell(column: ReportColumn, value: unknown): string {
  const text = textOf(value);
  return csvField(column.type === 'text' ? neutraliseFormula(text) : text);
}

export function createCsvWriter(out: Writable, info: DocumentInfo): RowWriter {
  const { columns } = info;
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;

  async function flush(): Promise<void> {
    if (used === 0) return;
    const full = chunk.subarray(0, used);
    // The stream keeps `full` until it is written, so the next rows go into a fresh chunk.
    chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    used = 0;
    if (!out.write(full)) await once(out, 'drain');
  }

  /** Append one line; false when the chunk is too full for it (flush, then append again). */
  function append(line: string): boolean {
    if (line.length * MAX_BYTES_PER_CHAR > CHUNK_BYTES - used) return false;
    used += chunk.write(line, used, 'utf8');
    return true;
  }

  async function writeLine(line: string): Promise<void> {
    if (append(line)) return;
    await flush();
    if (append(line)) return;
    // A single line longer than a chunk (a huge text cell) goes out on its own.
    if (!out.write(line, 'utf8')) await once(out, 'drain');
  }

  append(`${BOM}${columns.map((c) => csvField(neutraliseFormula(c.header))).join(',')}\r\n`);

  return {
    async write(row) {
      let line = cell(columns[0]!, row[columns[0]!.key]);
      for (let i = 1; i < columns.length; i++) {
        const column = columns[i]!;
        line += `,${cell(column, row[column.key])}`;
      }
      await writeLine(`${line}\r\n`);
    },
    async finish() {
      await flush();
      out.end();
    },
  };
}
