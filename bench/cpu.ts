// Where a benchmark's time goes on a shared machine: CPU spent by this process, by Redis and by
// PostgreSQL between two probes. Throughput on 2 cores follows the total, so these say which
// side a ratio is lost on. PostgreSQL's processes are read from /proc (Linux; 0 elsewhere).
import { readdirSync, readFileSync } from 'node:fs';
import type { Redis } from '../core/redis.js';

export interface CpuProbe {
  /** Seconds of CPU. */
  node: number;
  redis: number;
  postgres: number;
}

export async function cpuProbe(redis: Redis): Promise<CpuProbe> {
  const usage = process.cpuUsage();
  const info = await redis.info('cpu');
  const seconds = (field: string) => Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return {
    node: (usage.user + usage.system) / 1e6,
    redis: seconds('used_cpu_user') + seconds('used_cpu_sys'),
    postgres: postgresSeconds(),
  };
}

/** Microseconds of CPU per job on each side between two probes. */
export function cpuPerJob(before: CpuProbe, after: CpuProbe, jobs: number): CpuProbe {
  const us = (key: keyof CpuProbe) => Math.round(((after[key] - before[key]) * 1e6) / jobs);
  return { node: us('node'), redis: us('redis'), postgres: us('postgres') };
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function postgresSeconds(): number {
  let ticks = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      // Fields after the "(comm)" part: state is the 3rd field overall, utime/stime the 14th/15th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks / TICKS_PER_SECOND;
}
