import { describe, expect, it } from 'vitest';
import { DEFAULT_DATABASE_URL, loadConfig } from '../../core/config.js';

describe('configuration', () => {
  it('fills documented defaults and remembers that DATABASE_URL was not given', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBe(DEFAULT_DATABASE_URL);
    expect(config.databaseUrlDefaulted).toBe(true);
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.PORT).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
  });

  it('names the bad variable and shows the value it got', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^PORT: .*"eighty"/);
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(/^REDIS_URL: must be a URL like redis:/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/^LOG_LEVEL:/);
    expect(() => loadConfig({ SIGNING_SECRET: 'short' })).toThrow(
      /^SIGNING_SECRET: must be at least 32 characters/,
    );
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).databaseUrlDefaulted).toBe(true);
  });
});
