// Rotation settings: configuration (PARTITION_* keys) overridden by the payload, checked before
// anything is created, detached or dropped.
import type { Config } from '../../core/config.js';
import { InputError } from '../../core/errors.js';
import { DirectoryStorage, type FileStorage } from '../../core/storage.js';
import type { ShortLockOptions } from './locks.js';

export const MAX_PREMAKE_MONTHS = 24;

export type ArchiveMode = 'none' | 'csv-gzip';

export interface RotationSettings {
  premakeMonths: number;
  moveBatchSize: number;
  locks: Omit<ShortLockOptions, 'signal' | 'onRetry'>;
  archive: ArchiveMode;
  archiveDir: string;
  attendanceRetentionMonths: number | null;
  retryDelayMs: number;
}

export function rotationSettings(
  config: Config,
  overrides: { premakeMonths?: number; archive?: ArchiveMode } = {},
): RotationSettings {
  const premakeMonths = overrides.premakeMonths ?? config.PARTITION_PREMAKE_MONTHS;
  if (!Number.isInteger(premakeMonths) || premakeMonths < 1 || premakeMonths > MAX_PREMAKE_MONTHS) {
    throw new InputError(
      `months created ahead must be 1 to ${MAX_PREMAKE_MONTHS}, got ${premakeMonths}`,
      'premakeMonths',
    );
  }
  return {
    premakeMonths,
    moveBatchSize: config.PARTITION_MOVE_BATCH_SIZE,
    locks: {
      lockTimeoutMs: config.PARTITION_LOCK_TIMEOUT_MS,
      attempts: config.PARTITION_LOCK_ATTEMPTS,
      backoffMs: config.PARTITION_RETRY_BACKOFF_MS,
    },
    archive: overrides.archive ?? config.PARTITION_ARCHIVE,
    archiveDir: config.PARTITION_ARCHIVE_DIR ?? config.EXPORT_DIR,
    attendanceRetentionMonths: config.ATTENDANCE_RETENTION_MONTHS ?? null,
    retryDelayMs: config.PARTITION_RETRY_DELAY_MINUTES * 60_000,
  };
}

export function archiveStorage(settings: RotationSettings): FileStorage | null {
  return settings.archive === 'csv-gzip' ? new DirectoryStorage(settings.archiveDir) : null;
}
