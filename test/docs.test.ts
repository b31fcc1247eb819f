import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { RequestListener, Server } from 'node:http';
import { promisify } from 'node:util';
import {
  Kind,
  parse,
  print,
  visit,
  type ASTNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDealsSubgraph } from './federation/deals-subgraph.js';
import { createGateway } from './federation/gateway.js';
import { listen } from './support/net.js';
import { ROOT, startLayerProcess, type RunningProcess } from './support/process.js';
import { signedWebhook, subscribe, testSecret } from './support/sse.js';
import type { SandboxCall } from '../src/sandbox/index.js';
import { createTestStack, type GraphQLResponse, type TestStack } from './support/stack.js';

/**
 * Every example in README.md and docs/*.md runs. A ```graphql block holding operations is run,
 * operation by operation in the order shown (each with the block's fragments it spreads), against
 * a fresh sandbox per page (the same seeded demo data `npm start` serves); a ```json block right
 * after it holds its variables. A block with
 * only type definitions is SDL and must parse. A ```sh block's `curl` commands run against the
 * built server in sandbox mode, and a `# …` line after a command is what it must print: JSON it
 * must equal, or a line it must contain, in which `…` stands for what the docs leave out.
 * A subscription is opened over SSE, and telli's webhooks (`contact_status_changed` and
 * `call_ended`) are delivered, signed, for the contacts it names (the sample contact when it
 * names none) until its first event arrives — which must be as free of surprises as a query's.
 * An HTML comment right before a block adjusts how it runs:
 *
 *   <!-- docs-test: gateway -->                   run through Hive Gateway over this layer + the deals subgraph
 *   <!-- docs-test: errors CODE[,CODE…] -->       these error codes are the point of the example
 *   <!-- docs-test: env NAME=value … -->          curl: the server runs with these settings
 *   <!-- docs-test: not-run (reason) -->          a sketch for another codebase (e.g. Apollo Client)
 */
const PAGES = [
  'README.md',
  ...readdirSync(`${ROOT}docs`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Block {
  page: string;
  line: number;
  lang: string;
  text: string;
  directives: Map<string, string>;
  /** For a graphql block: the json block right after it (only prose between). */
  variables?: Record<string, unknown>;
}

function blocksOf(page: string): Block[] {
  const lines = readFileSync(`${ROOT}${page}`, 'utf8').split('\n');
  const blocks: Block[] = [];
  let directives = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const directive = /^<!-- docs-test: (\S+)\s*(.*?)\s*-->$/.exec(line);
    if (directive) {
      directives.set(directive[1] as string, directive[2] as string);
      continue;
    }
    const fence = /^```(\S*)\s*$/.exec(line);
    if (!fence) {
      if (line.trim() !== '') directives = new Map();
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] as string);
    const block: Block = { page, line: start + 1, lang: fence[1] as string, text: body.join('\n'), directives };
    const previous = blocks.at(-1);
    if (
      block.lang === 'json' &&
      previous?.lang === 'graphql' &&
      !previous.variables &&
      start - previousEnd(previous) <= 4
    ) {
      previous.variables = JSON.parse(block.text) as Record<string, unknown>;
    } else {
      blocks.push(block);
    }
    directives = new Map();
  }
  return blocks;
}

/** The line after a block's closing fence (1-based line of its opening fence + its length). */
function previousEnd(block: Block): number {
  return block.line + block.text.split('\n').length + 1;
}

/** The block's operations; none for SDL (a block that does not parse fails its own test). */
function operationsOf(block: Block): OperationDefinitionNode[] {
  try {
    return parse(block.text).definitions.filter(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    );
  } catch {
    return [];
  }
}

/**
 * The operation as a document to send: the operation, and the fragments of its block that it
 * spreads (directly or through other fragments) — what a client sends for it.
 */
function documentOf(block: Block, operation: OperationDefinitionNode): string {
  let fragments: FragmentDefinitionNode[] = [];
  try {
    fragments = parse(block.text).definitions.filter(
      (d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION,
    );
  } catch {
    // A block that does not parse fails its own test.
  }
  const used = new Set<string>();
  const spreadsOf = (node: ASTNode) => {
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const fragment = fragments.find((f) => f.name.value === name);
        if (used.has(name) || !fragment) return;
        used.add(name);
        spreadsOf(fragment);
      },
    });
  };
  spreadsOf(operation);
  return [operation, ...fragments.filter((f) => used.has(f.name.value))].map((d) => print(d)).join('\n\n');
}

const where = (block: Block, name?: string) => `${block.page}:${block.line}${name ? ` ${name}` : ''}`;

/** What an answer shows that the docs did not lead to expect; undefined when it is as shown. */
function surprise(block: Block, operation: OperationDefinitionNode, res: GraphQLResponse): string | undefined {
  const expected = block.directives.get('errors')?.split(',').filter(Boolean) ?? [];
  const codes = [...new Set((res.errors ?? []).map((e) => String(e.extensions?.['code'])))].sort();
  const ok = codes.join() === [...expected].sort().join() && (expected.length > 0 || Boolean(res.data));
  if (ok) return undefined;
  return `${where(block, operation.name?.value)}: ${JSON.stringify(res.errors ?? res).slice(0, 400)}`;
}

const all = PAGES.flatMap(blocksOf);

const SAMPLE = '3c90c3cc-0d44-4b50-8888-8dd25736052a';
const BATCH = 'POST /v1/get-contacts-batch';
const LIST_CALLS = 'GET /v1/list-calls';
const AGENT = 'GET /v2/agents/{id}';

/** What an example left behind: the sandbox right after it ran, and its answer. */
interface Effect {
  stack: TestStack;
  res: GraphQLResponse;
  where: string;
}

/** The distinct agents of calls, as the sandbox holds them. */
const agentsOf = (calls: readonly SandboxCall[]) => new Set(calls.map((c) => c.agent_id)).size;

/**
 * What a page says an example does beyond answering without errors, checked right after it runs
 * (the sandbox's counters are reset before each operation): the telli calls its comment counts,
 * and what a mutation changes. Keyed by page and operation name; every key must name a runnable
 * operation (checked below), so an example renamed or removed cannot leave its check behind.
 */
const EFFECTS: Record<string, (effect: Effect) => void> = {
  // "One telli call for all of this: three distinct ids, one of them twice."
  'README.md Dashboard': ({ stack, where }) => {
    expect(stack.sandbox.stats.calls, where).toEqual({ [BATCH]: 1 });
    expect(stack.sandbox.stats.batchSizes, where).toEqual([3]);
  },
  // "One upstream call for all of this: 3 distinct ids, one duplicate."
  'docs/contacts.md Dashboard': ({ stack, where }) => {
    expect(stack.sandbox.stats.calls, where).toEqual({ [BATCH]: 1 });
    expect(stack.sandbox.stats.batchSizes, where).toEqual([3]);
  },
  // The field table: without v2 fields, v1's external-id lookup plus a batch read.
  'docs/contacts.md ByCrmId': ({ stack, where }) =>
    expect(stack.sandbox.stats.calls, where).toEqual({ 'GET /v1/get-contact-by-external-id': 1, [BATCH]: 1 }),
  // "one GET /v2/contacts/{id}, no v1 call"
  'docs/contacts.md Properties': ({ stack, where }) =>
    expect(stack.sandbox.stats.calls, where).toEqual({ 'GET /v2/contacts/{id}': 1 }),
  // "per page one GET /v2/contacts and ... one POST /v1/get-contacts-batch"
  'docs/contacts.md AllContacts': ({ stack, where }) =>
    expect(stack.sandbox.stats.calls, where).toEqual({ 'GET /v2/contacts': 1, [BATCH]: 1 }),
  // "One batch read (existence, status), one list-calls, one agent read per distinct agent."
  'docs/calls.md LatestCalls': ({ stack, where }) =>
    expect(stack.sandbox.stats.calls, where).toEqual({
      [BATCH]: 1,
      [LIST_CALLS]: 1,
      [AGENT]: agentsOf(stack.sandbox.calls(SAMPLE).slice(0, 3)),
    }),
  // "One get-call, then the contact (batch) and the agent."
  'docs/calls.md OneCall': ({ stack, where }) =>
    expect(stack.sandbox.stats.calls, where).toEqual({ 'GET /v1/get-call/{callId}': 1, [BATCH]: 1, [AGENT]: 1 }),
  // "Three contacts' last 5 calls: one batch, 3 list-calls (at most 8 in flight), one read per agent."
  'docs/calls.md Dashboard': ({ stack, where, res }) => {
    const ids = (res.data?.['contacts'] as { id: string }[]).map((c) => c.id);
    expect(stack.sandbox.stats.calls, where).toEqual({
      [BATCH]: 1,
      [LIST_CALLS]: 3,
      [AGENT]: agentsOf(ids.flatMap((id) => stack.sandbox.calls(id).slice(0, 5))),
    });
  },
  'docs/calls.md Agents': ({ stack, where }) =>
    expect(stack.sandbox.stats.calls, where).toEqual({ 'GET /v2/agents': 1 }),
  // "it is answered with one telli read"
  'docs/clients.md ContactCardRefetchQuery': ({ stack, where }) =>
    expect(stack.sandbox.stats.calls, where).toEqual({ [BATCH]: 1 }),
  // Relay's pagination query reads the contact (the batch) and one page of its calls.
  'docs/clients.md ContactCallsPaginationQuery': ({ stack, where }) =>
    expect(stack.sandbox.stats.calls, where).toEqual({ [BATCH]: 1, [LIST_CALLS]: 1 }),
  // The lead is created with every field the mutation gave it.
  'docs/writes.md AddLead': ({ stack, res, where }) => {
    const { id } = (res.data?.['createContact'] as { contact: { id: string } }).contact;
    expect(stack.sandbox.contacts.get(id), where).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      phoneNumber: '+4917642048466',
      externalId: 'crm-4711',
      email: 'ada@example.com',
      timezone: 'Europe/Berlin',
      properties: [expect.objectContaining({ key: 'deal_size', value: 42000 })],
    });
  },
  // "Left out = unchanged; null = cleared. The PATCH body is exactly {"lastName":"King","email":null}."
  'docs/writes.md FixContact': ({ stack, where }) => {
    expect(stack.sandbox.stats.writes, where).toEqual([
      { endpoint: 'PATCH /v2/contacts/{id}', body: { lastName: 'King', email: null } },
    ]);
    expect(stack.sandbox.contacts.get(SAMPLE), where).toMatchObject({
      firstName: 'Ada',
      lastName: 'King',
      email: null,
    });
  },
  // Queued in telli's dialer with the retry window given, for a contact the dialer can call: not
  // in a call already (it would wait for that call to end). Run on its own, the dialer then places
  // it: see "CallNow places a call" below.
  'docs/writes.md CallNow': ({ stack, res, where }) => {
    const { loopId, contact } = res.data?.['scheduleCall'] as { loopId: string; contact: { nextCallAt: string } };
    expect(stack.sandbox.dialerEntry(SAMPLE), where).toMatchObject({ loopId, maxRetryDays: 3 });
    expect(stack.sandbox.contacts.get(SAMPLE), where).toMatchObject({
      nextCallAt: contact.nextCallAt,
      inCallSince: null,
    });
  },
  // Out of the dialer again: no entry, nothing scheduled.
  'docs/writes.md StopCalling': ({ stack, res, where }) => {
    expect(res.data?.['removeFromDialer'], where).toEqual({ results: [{ removed: true, userErrors: [] }] });
    expect(stack.sandbox.dialerEntry(SAMPLE), where).toBeUndefined();
    expect(stack.sandbox.contacts.get(SAMPLE)?.nextCallAt, where).toBeNull();
  },
  // Both contacts of the variables are created, in input order.
  'docs/writes.md Import': ({ stack, res, where }) => {
    const results = (res.data?.['createContacts'] as { results: { index: number; contact: { id: string } }[] }).results;
    expect(
      results.map((r) => r.index),
      where,
    ).toEqual([0, 1]);
    expect(
      results.map((r) => stack.sandbox.contacts.get(r.contact.id)?.externalId),
      where,
    ).toEqual(['crm-5001', 'crm-5002']);
  },
};

describe('the docs', () => {
  it('have examples to run (this test reads the pages it should)', () => {
    expect(PAGES).toContain('docs/errors.md');
    expect(all.filter((b) => b.lang === 'graphql').length).toBeGreaterThan(5);
  });

  it('check an effect only for operations they show (a renamed example does not leave its check behind)', () => {
    const shown = all
      .filter((b) => b.lang === 'graphql')
      .flatMap((b) => operationsOf(b).map((o) => `${b.page} ${o.name?.value}`));
    for (const key of Object.keys(EFFECTS)) expect(shown, key).toContain(key);
  });

  it('write every GraphQL block as something that parses', () => {
    for (const block of all.filter((b) => b.lang === 'graphql')) {
      expect(() => parse(block.text), where(block)).not.toThrow();
    }
  });

  for (const page of PAGES) {
    const runnable = blocksOf(page).filter(
      (b) => b.lang === 'graphql' && !b.directives.has('gateway') && operationsOf(b).length > 0,
    );
    if (runnable.length === 0) continue;
    describe(page, () => {
      let stack: TestStack;
      const secret = testSecret();
      beforeAll(async () => {
        stack = await createTestStack({ env: { TELLI_WEBHOOK_SECRET: secret } });
      });
      afterAll(() => stack.close());

      /** The subscription's first event, with webhooks delivered for the contacts it names. */
      async function firstEvent(document: string, variables: Record<string, unknown> | undefined) {
        const sub = await subscribe(
          (url, init) => stack.app.fetch(url, init),
          'http://layer.test/graphql',
          document,
          variables,
        );
        const named = JSON.stringify([document, variables ?? {}]).match(/[0-9a-f]{8}-[0-9a-f-]{27}/g);
        const contactIds = named ?? ['3c90c3cc-0d44-4b50-8888-8dd25736052a'];
        try {
          for (const contactId of contactIds) {
            const call = stack.sandbox.calls(contactId)[0];
            for (const payload of [
              { event: 'contact_status_changed', contact_id: contactId, status: 'reached' },
              { event: 'call_ended', contact: { contact_id: contactId }, call: { call_id: call?.call_id } },
            ]) {
              const webhook = signedWebhook(secret, payload);
              await stack.app.fetch('http://layer.test/webhooks/telli', { method: 'POST', ...webhook });
            }
          }
          return (await sub.next(5_000)) as GraphQLResponse;
        } finally {
          await sub.close();
        }
      }

      it('runs every GraphQL example against the sandbox, as shown, with the effects its page promises', async () => {
        const surprises: string[] = [];
        for (const block of runnable) {
          for (const operation of operationsOf(block)) {
            stack.sandbox.resetStats();
            const res =
              operation.operation === 'subscription'
                ? await firstEvent(documentOf(block, operation), block.variables)
                : await stack.raw(documentOf(block, operation), block.variables);
            const found = surprise(block, operation, res);
            if (found) surprises.push(found);
            else
              EFFECTS[`${page} ${operation.name?.value}`]?.({ stack, res, where: where(block, operation.name?.value) });
          }
        }
        expect(surprises).toEqual([]);
      });
    });
  }
});

describe("docs/writes.md's CallNow, run on its own as in GraphiQL under npm start", () => {
  let stack: TestStack;
  beforeAll(async () => {
    // The sandbox as sandbox mode runs it: telli's dialer too (quicker calls).
    stack = await createTestStack({ sandbox: { live: { secret: testSecret(), callMs: 100 } } });
  });
  afterAll(() => stack.close());

  it('places a call, which then ends: the contact has one more attempt and a finished newest call', async () => {
    const page = blocksOf('docs/writes.md').flatMap(operationsOf);
    const callNow = page.find((o) => o.name?.value === 'CallNow') as OperationDefinitionNode;
    const before = stack.sandbox.contacts.get(SAMPLE)?.callAttempts as number;
    const res = await stack.raw(print(callNow));
    expect(res.errors).toBeUndefined();
    expect(res.data?.['scheduleCall']).toMatchObject({ loopId: expect.any(String), userErrors: [] });
    // The dialer places the call (a new attempt, newest first), and the call ends.
    const newest = () => stack.sandbox.calls(SAMPLE)[0];
    await expect.poll(() => newest()?.attempt, { timeout: 5_000 }).toBe(before + 1);
    await expect.poll(() => newest()?.ended_at_iso ?? null, { timeout: 5_000 }).not.toBeNull();
    const read = await stack.raw(
      `{ contact(id: "${SAMPLE}") { status inCallSince callAttempts nextCallAt calls(first: 1) { nodes { attempt status endedAt } } } }`,
    );
    expect(read.errors).toBeUndefined();
    const contact = read.data?.['contact'] as { calls: { nodes: { attempt: number; status: string }[] } };
    expect(contact).toMatchObject({ inCallSince: null, nextCallAt: null, callAttempts: before + 1 });
    expect(contact.calls.nodes[0]).toMatchObject({ attempt: before + 1, endedAt: expect.any(String) });
    expect(['COMPLETED', 'NOT_REACHED']).toContain(contact.calls.nodes[0]?.status);
  });
});

describe('the federation examples, through Hive Gateway', () => {
  const blocks = all.filter((b) => b.lang === 'graphql' && b.directives.has('gateway'));
  let stack: TestStack;
  const servers: Server[] = [];
  let gateway: Awaited<ReturnType<typeof createGateway>>;

  const serve = async (handler: RequestListener) => {
    const { server, url } = await listen(handler);
    servers.push(server);
    return url;
  };

  beforeAll(async () => {
    stack = await createTestStack();
    const contacts = await serve(stack.app.listener);
    const deals = await serve(createDealsSubgraph());
    gateway = await createGateway({ contacts, deals });
  });
  afterAll(async () => {
    for (const server of servers) server.close();
    await stack.close();
  });

  it('has some', () => expect(blocks.length).toBeGreaterThan(0));

  it('runs each as the docs show it', async () => {
    const surprises: string[] = [];
    for (const block of blocks) {
      for (const operation of operationsOf(block)) {
        const res = await gateway.fetch('http://gateway.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: documentOf(block, operation), variables: block.variables }),
        });
        const found = surprise(block, operation, (await res.json()) as GraphQLResponse);
        if (found) surprises.push(found);
      }
    }
    expect(surprises).toEqual([]);
  });
});

describe('the curl examples, against the built server', () => {
  const run = promisify(execFile);
  const blocks = all.filter((b) => b.lang === 'sh' && /^curl /m.test(b.text) && !b.directives.has('not-run'));
  const servers = new Map<string, RunningProcess>();
  afterAll(async () => {
    for (const server of servers.values()) await server.server.stop();
  });

  it('has some', () => expect(blocks.length).toBeGreaterThan(0));

  it('prints what the docs say each prints', async () => {
    for (const block of blocks) {
      const env = block.directives.get('env') ?? '';
      let server = servers.get(env);
      if (!server) {
        const vars = Object.fromEntries(
          env
            .split(/\s+/)
            .filter(Boolean)
            .map((kv) => kv.split('=', 2) as [string, string]),
        );
        server = await startLayerProcess(vars);
        servers.set(env, server);
      }
      for (const { command, expected } of curlCommands(block.text)) {
        const { stdout } = await run('bash', ['-c', command.replaceAll('http://127.0.0.1:4000', server.url)], {
          cwd: ROOT,
        });
        if (expected === undefined) {
          expect(stdout, where(block)).not.toContain('"errors"');
        } else if (expected.startsWith('{') && !expected.includes('…')) {
          expect(JSON.parse(stdout), where(block)).toEqual(JSON.parse(expected));
        } else {
          // A shown output line, where `…` stands for what the docs leave out.
          const pattern = expected
            .split('…')
            .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*');
          expect(stdout, where(block)).toMatch(new RegExp(pattern));
        }
      }
    }
  });
});

/**
 * Each `curl …` command of a shell block — its first line and every line after it up to a blank
 * line, a comment or the next command — and the `# …` line right after it, if any.
 */
function curlCommands(text: string): { command: string; expected: string | undefined }[] {
  const out: { command: string; expected: string | undefined }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('curl ')) continue;
    const command = [lines[i] as string];
    while (i + 1 < lines.length && !/^(#|curl |\s*$)/.test(lines[i + 1] as string)) command.push(lines[++i] as string);
    const next = lines[i + 1];
    out.push({ command: command.join('\n'), expected: next?.startsWith('# ') ? next.slice(2) : undefined });
  }
  return out;
}
