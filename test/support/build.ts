import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * vitest global setup: builds `dist/server.js` exactly as `npm start` does (`npm run build`), once
 * per test run, before any suite starts. Every test that runs the server as a process runs this
 * artifact — the HTTP contract is proven on what ships, not on the TypeScript module graph.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
}
