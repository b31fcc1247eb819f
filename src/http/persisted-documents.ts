import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Kind, parse } from 'graphql';
import { ConfigError } from '../config.js';

/**
 * The trusted-documents manifest: a JSON object of document id → document, as GraphQL Code
 * Generator's client preset emits it (`schema/persisted-documents.json` for this repo's own
 * operations). Read once at boot and checked in full, so that a bad file stops start-up naming
 * its variable, like a bad environment variable — never a server that refuses every request.
 */
const VARIABLE = 'PERSISTED_DOCUMENTS_PATH';

/**
 * A sha256 document id: GraphQL over HTTP's "sha256 hex document identifier" (`sha256:<hex>`, what
 * the client preset emits), or the bare hex digest (what Apollo's APQ `sha256Hash` carries).
 */
const SHA256_ID = /^(?:sha256:)?([0-9a-fA-F]{64})$/;

/** The 64 lower-case hex digits a document id names, or undefined when it is not a sha256 id. */
export function sha256OfId(id: string): string | undefined {
  return SHA256_ID.exec(id)?.[1]?.toLowerCase();
}

/** Documents by the lower-case hex sha256 of their text (either id form maps to this key). */
export type PersistedDocuments = ReadonlyMap<string, string>;

/** Problems listed in the start-up error; a broken file would otherwise print thousands of lines. */
const MAX_PROBLEMS = 20;

/**
 * Reads and checks the manifest: a non-empty JSON object; every key a sha256 id; every value a
 * string that parses as a GraphQL document with at least one operation; and every key the sha256
 * of its own document — so a hand-edited document cannot keep an id that clients computed for
 * another text. Throws a `ConfigError` listing every problem (up to MAX_PROBLEMS).
 *
 * Validation against the schema is left to request time (Yoga validates, and caches the result,
 * as for any document): a manifest of thousands of documents would otherwise slow every start.
 */
export async function loadPersistedDocuments(path: string): Promise<PersistedDocuments> {
  const fail = (problems: string[]): never => {
    const shown = problems.slice(0, MAX_PROBLEMS).map((p) => `${VARIABLE} ${path}: ${p}`);
    if (problems.length > MAX_PROBLEMS) shown.push(`${VARIABLE} ${path}: … and ${problems.length - MAX_PROBLEMS} more`);
    throw new ConfigError(shown);
  };

  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return fail([`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    return fail([`is not JSON (${(error as Error).message})`]);
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    return fail(['must be a JSON object of document id -> document']);
  }

  const documents = new Map<string, string>();
  const problems: string[] = [];
  for (const [id, document] of Object.entries(manifest)) {
    const shownId = JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id);
    const hash = sha256OfId(id);
    if (!hash) {
      problems.push(`key ${shownId} is not a sha256 document id ("sha256:" and 64 hex digits, or the 64 alone)`);
      continue;
    }
    if (typeof document !== 'string') {
      problems.push(`the document under ${shownId} is not a string`);
      continue;
    }
    const parseProblem = operationProblem(document);
    if (parseProblem) {
      problems.push(`the document under ${shownId} ${parseProblem}`);
      continue;
    }
    if (createHash('sha256').update(document).digest('hex') !== hash) {
      problems.push(`key ${shownId} is not the sha256 of its document (regenerate the manifest)`);
      continue;
    }
    // Two keys for one hash ("sha256:<hex>" and "<hex>") hold the same text: the check above says so.
    documents.set(hash, document);
  }
  if (problems.length > 0) return fail(problems);
  if (documents.size === 0) return fail(['holds no documents']);
  return documents;
}

/** Why this text is not an executable document, or undefined when it is one. */
function operationProblem(document: string): string | undefined {
  try {
    const ast = parse(document, { noLocation: true });
    if (!ast.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION)) return 'holds no operation';
    return undefined;
  } catch (error) {
    return `does not parse (${(error as Error).message})`;
  }
}
