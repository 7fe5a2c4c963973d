// The CSV writer encodes rows straight into 64 KB buffers: rows that straddle a buffer boundary,
// multi-byte characters at the boundary and a cell longer than a whole buffer must come out intact,
// in order, and the writer must wait for a slow stream instead of queueing everything.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { TenantInfo } from '../../core/tenants.js';
import type { ReportColumn } from '../../reports/types.js';
import { createCsvWriter } from '../../templates/csv-writer.js';
import { parseCsv } from './helpers.js';

const columns: ReportColumn[] = [
  { key: 'n', header: 'N', type: 'number' },
  { key: 'name', header: 'Name', type: 'text' },
];
const tenant = { id: 't', name: 'School', currency: 'USD', timeZone: 'UTC', locale: 'en' } as TenantInfo;

function slowSink(): { stream: Writable; chunks: Buffer[]; maxQueued: () => number } {
  const chunks: Buffer[] = [];
  let maxQueued = 0;
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      maxQueued = Math.max(maxQueued, stream.writableLength);
      setImmediate(done);
    },
  });
  return { stream, chunks, maxQueued: () => maxQueued };
}

describe('CSV writer', () => {
  it('writes every row intact across buffer boundaries, with accents and a cell longer than a buffer', async () => {
    const sink = slowSink();
    const writer = createCsvWriter(sink.stream, {
      title: 'T',
      tenant,
      columns,
      filters: [],
      generatedAt: new Date(),
    });
    const huge = `Ngọc "Ánh", ${'é'.repeat(100_000)}`;
    const names: string[] = [];
    for (let n = 0; n < 60_000; n++) {
      const name =
        n === 7_777 ? huge : n % 3 === 0 ? `Nguyễn Thị ${n}, Ảnh` : n % 5 === 0 ? `=cmd ${n}` : `Zoë ${n}`;
      names.push(name);
      await writer.write({ n, name });
    }
    await writer.finish();
    await new Promise((resolve) => sink.stream.on('finish', resolve));

    const content = Buffer.concat(sink.chunks);
    expect([...content.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const [header, ...rows] = parseCsv(content.toString('utf8').slice(1));
    expect(header).toEqual(['N', 'Name']);
    expect(rows.length).toBe(names.length);
    rows.forEach((row, n) => {
      expect(row[0]).toBe(String(n));
      expect(row[1]).toBe(names[n]!.startsWith('=') ? `'${names[n]}` : names[n]);
    });
    // Backpressure: at most about one chunk (or the one oversized line) waits in the stream,
    // never the whole file.
    const bound = Buffer.byteLength(huge) + 2 * 64 * 1024;
    expect(content.length).toBeGreaterThan(4 * bound);
    expect(sink.maxQueued()).toBeLessThanOrEqual(bound);
  });
});
