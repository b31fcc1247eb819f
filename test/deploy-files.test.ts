import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/process.js';

/**
 * The Dockerfile against what the repository says elsewhere. CI builds and runs the image
 * (`.ci/container-checks.sh`); these catch drift without Docker: the image must start the server
 * the way `npm run start:prod` does, build FROM the official image, with any builder.
 */
const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
  scripts: Record<string, string>;
  engines: { node: string };
};

describe('Dockerfile', () => {
  it('builds every stage FROM the official Node image of the oldest supported line', () => {
    const oldest = /\^(\d+)\./.exec(pkg.engines.node)?.[1];
    const bases = instructions.filter((line) => line.startsWith('FROM ')).map((line) => line.split(/\s+/)[1]);
    expect(bases.length).toBeGreaterThan(1);
    expect(new Set(bases)).toEqual(new Set([`node:${oldest}-bookworm-slim`]));
  });

  it('starts the server with the node flags of `npm run start:prod`', () => {
    const cmd = instructions.find((line) => line.startsWith('CMD '));
    const prod = (pkg.scripts['start:prod'] ?? '').replace(/^exec\s+/, '').split(/\s+/);
    expect(JSON.parse(cmd?.slice(4) ?? 'null')).toEqual(prod);
  });

  it('uses nothing the classic builder lacks (no RUN --mount, no heredocs, no syntax directive)', () => {
    expect(dockerfile).not.toMatch(/^# *syntax=/m);
    expect(instructions.filter((line) => /--mount|<</.test(line))).toEqual([]);
  });

  it('copies from the build context only what .dockerignore lets in', () => {
    const allowed = readFileSync(`${ROOT}.dockerignore`, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1).replace(/\/$/, ''));
    const copied = instructions
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(copied.length).toBeGreaterThan(0);
    expect(copied.filter((path) => !allowed.includes(path))).toEqual([]);
  });
});
