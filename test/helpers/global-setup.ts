import { dropStaleTestDatabases, ensureTemplate } from './postgres.js';

export default async function setup(): Promise<void> {
  await dropStaleTestDatabases();
  await ensureTemplate();
}
