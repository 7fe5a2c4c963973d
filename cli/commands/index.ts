// Every CLI command, in the order `help` lists them.
import type { Command } from '../command.js';
import { apiTokenCommand } from './api-token.js';
import { checkCommand } from './check.js';
import { demoCommand } from './demo.js';
import { exportCommand } from './export.js';
import { migrateCommand } from './migrate.js';
import { seedCommand } from './seed.js';

export const commands: Command[] = [
  demoCommand,
  migrateCommand,
  seedCommand,
  checkCommand,
  exportCommand,
  apiTokenCommand,
];
