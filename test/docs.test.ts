import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { RequestListener, Server } from 'node:http';
import { promisify } from 'node:util';
import { Kind, parse, print, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDealsSubgraph } from './federation/deals-subgraph.js';
import { createGateway } from './federation/gateway.js';
import { listen } from './support/net.js';
import { ROOT, startLayerProcess, type RunningProcess } from './support/process.js';
import { signedWebhook, subscribe, testSecret } from './support/sse.js';
import { createTestStack, type GraphQLResponse, type TestStack } from './support/stack.js';

/**
 * Every example in README.md and docs/*.md runs. A ```graphql block holding operations is run,
 * operation by operation in the order shown, against a fresh sandbox per page (the same seeded
 * demo data `npm start` serves); a ```json block right after it holds its variables. A block with
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

describe('the docs', () => {
  it('have examples to run (this test reads the pages it should)', () => {
    expect(PAGES).toContain('docs/errors.md');
    expect(all.filter((b) => b.lang === 'graphql').length).toBeGreaterThan(5);
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
      async function firstEvent(operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined) {
        const sub = await subscribe(
          (url, init) => stack.app.fetch(url, init),
          'http://layer.test/graphql',
          print(operation),
          variables,
        );
        const named = JSON.stringify([print(operation), variables ?? {}]).match(/[0-9a-f]{8}-[0-9a-f-]{27}/g);
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

      it('runs every GraphQL example against the sandbox, as shown', async () => {
        const surprises: string[] = [];
        for (const block of runnable) {
          for (const operation of operationsOf(block)) {
            const res =
              operation.operation === 'subscription'
                ? await firstEvent(operation, block.variables)
                : await stack.raw(print(operation), block.variables);
            const found = surprise(block, operation, res);
            if (found) surprises.push(found);
          }
        }
        expect(surprises).toEqual([]);
      });
    });
  }
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
          body: JSON.stringify({ query: print(operation), variables: block.variables }),
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
