import { LRUCache } from 'lru-cache';

/**
 * Where Automatic Persisted Queries (Apollo's APQ, `PERSISTED_OPERATIONS=allow`) keep the documents
 * clients registered, by the lower-case hex sha256 of their text. The hash has been checked
 * against the text before `set`, so an entry never changes meaning: any copy of it, on any
 * instance, is as good as any other. Documents are not tenant data (an operation, not its result),
 * so one store serves every caller.
 *
 * A store never fails a request: a read it cannot answer is a miss (the client then sends the
 * document again, which runs), a write it cannot make is skipped.
 */
export interface ApqStore {
  /** The document registered under `hash`, or null. */
  get(hash: string): Promise<string | null>;
  /** Registers `document` under `hash`, its verified sha256. */
  set(hash: string, document: string): Promise<void>;
  close(): Promise<void>;
}

export interface ApqMemoryLimits {
  /** Most documents kept. */
  maxEntries: number;
  /** Most bytes of documents kept (UTF-8); a larger document alone is not kept. */
  maxBytes: number;
}

/** One instance's store: an LRU bounded by count and by bytes. */
export function createMemoryApqStore(limits: ApqMemoryLimits): ApqStore {
  const documents = new LRUCache<string, string>({
    max: limits.maxEntries,
    maxSize: limits.maxBytes,
    sizeCalculation: (document) => Math.max(1, Buffer.byteLength(document)),
  });
  return {
    get: (hash) => Promise.resolve(documents.get(hash) ?? null),
    set(hash, document) {
      // lru-cache keeps nothing larger than maxSize: such a document runs, unregistered.
      documents.set(hash, document);
      return Promise.resolve();
    },
    close() {
      documents.clear();
      return Promise.resolve();
    },
  };
}
