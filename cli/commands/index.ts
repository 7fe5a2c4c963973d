// Every CLI command, in the order `help` lists them.
import type { Command } from '../command.js';
import { apiTokenCommand } from './api-token.js';
import { checkCommand } from './check.js';
import { dashboardCommand } from './dashboard.js';
import { demoCommand } from './demo.js';
import { enqueueCommand } from './enqueue.js';
import { exportCommand } from './export.js';
import { migrateCommand } from './migrate.js';
import { runCommand } from './run.js';
import { scheduleCommand } from './schedule.js';
import { schedulerCommand } from './scheduler.js';
import { seedCommand } from './seed.js';
import { startCommand } from './start.js';
import { workerCommand } from './worker.js';

export const commands: Command[] = [
  demoCommand,
  migrateCommand,
  seedCommand,
  checkCommand,
  runCommand,
  enqueueCommand,
  scheduleCommand,
  workerCommand,
  schedulerCommand,
  dashboardCommand,
  startCommand,
  exportCommand,
  apiTokenCommand,
];
