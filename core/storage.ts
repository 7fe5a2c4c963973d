// Where generated files live. A directory by default (EXPORT_DIR); the interface is small so an
// object store can be added later. Writes are atomic: content goes to a temporary name in the
// same directory and is renamed into place only when complete, so no reader ever sees a
// partial file, and a crash mid-write leaves only a temporary file the cleanup removes.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InfraError, InputError } from './errors.js';

export interface StoredFile {
  key: string;
  size: number;
  sha256: string;
}

export interface FileStorage {
  /**
   * Write `key` atomically. `produce` gets a stream to write into and must end it (or let a
   * pipeline end it); if it throws, nothing appears under `key`.
   */
  writeAtomically(key: string, produce: (out: Writable) => Promise<void>): Promise<StoredFile>;
  openRead(key: string): NodeJS.ReadableStream;
  exists(key: string): Promise<boolean>;
  remove(key: string): Promise<void>;
  /** Remove temporary files older than `olderThanMs` left by crashed writers; returns how many. */
  removeStaleTemporaries(olderThanMs: number, now: Date): Promise<number>;
}

const TEMP_MARK = '.partial-';

export class DirectoryStorage implements FileStorage {
  constructor(readonly root: string) {}

  path(key: string): string {
    // Keys are engine-made (tenant/export-id.ext); refuse anything that could escape the root.
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key) || key.includes('..')) {
      throw new InputError(`is not a safe storage key: ${key}`, 'key');
    }
    return path.join(this.root, key);
  }

  async writeAtomically(key: string, produce: (out: Writable) => Promise<void>): Promise<StoredFile> {
    const finalPath = this.path(key);
    const dir = path.dirname(finalPath);
    const tempPath = path.join(
      dir,
      `${TEMP_MARK}${randomBytes(6).toString('hex')}-${path.basename(finalPath)}`,
    );
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw new InfraError(`cannot create storage directory ${dir}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const file = createWriteStream(tempPath, { flags: 'wx' });
    const written = pipeline(tap, file);
    try {
      await produce(tap);
      if (!tap.writableEnded) tap.end();
      await written;
      await rename(tempPath, finalPath);
      return { key, size, sha256: hash.digest('hex') };
    } catch (error) {
      tap.destroy();
      await written.catch(() => {});
      await rm(tempPath, { force: true });
      throw error;
    }
  }

  openRead(key: string): NodeJS.ReadableStream {
    return createReadStream(this.path(key));
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.path(key)).then(
      () => true,
      () => false,
    );
  }

  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async removeStaleTemporaries(olderThanMs: number, now: Date): Promise<number> {
    let removed = 0;
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.name.startsWith(TEMP_MARK)) {
          const info = await stat(full).catch(() => undefined);
          if (info && now.getTime() - info.mtimeMs > olderThanMs) {
            await rm(full, { force: true });
            removed++;
          }
        }
      }
    };
    await walk(this.root);
    return removed;
  }
}

/** Read a stored file fully (tests, small files). */
export async function readStored(storage: FileStorage, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of storage.openRead(key)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}
