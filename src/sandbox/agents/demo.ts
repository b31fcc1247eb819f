import { createRandom } from '../random.js';
import { DAY } from '../time.js';

/** Deterministic demo agents: the same account seed always gives the same agents. */

/** An agent as `GET /v2/agents` returns it (§12: the fields integrations read). */
export interface SandboxAgent {
  id: string;
  title: string;
  language: string;
  createdAt: string;
}

const AGENT_BLUEPRINTS = [
  { title: 'Solar outreach', language: 'de' },
  { title: 'Appointment setter', language: 'en' },
  { title: 'Heat pump reactivation — Zoë', language: 'de' },
  { title: 'Inbound reception', language: 'en' },
] as const;

/** Three or four agents, the same for the same seed; created months before `now` (epoch ms). */
export function createDemoAgents(seed: number, now: number): SandboxAgent[] {
  const r = createRandom(seed ^ 0x5a9e7);
  const count = 3 + r.int(2);
  return AGENT_BLUEPRINTS.slice(0, count).map((blueprint, i) => ({
    id: r.uuid(),
    ...blueprint,
    createdAt: new Date(now - (120 - i * 25) * DAY + r.int(DAY)).toISOString(),
  }));
}
