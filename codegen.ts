import type { CodegenConfig } from '@graphql-codegen/cli';
import { preset as clientPreset } from '@graphql-codegen/client-preset';
import type { Types } from '@graphql-codegen/plugin-helpers';

/** The trusted-documents manifest: hash → document, committed beside the SDL it was checked against. */
const MANIFEST = 'schema/persisted-documents.json';

/**
 * The client preset, except that its persisted-documents manifest is written beside the SDL
 * rather than into the generated folder: the manifest is a contract between the frontend and this
 * server (the server loads it with PERSISTED_DOCUMENTS_PATH), like `schema/client.graphql`, while
 * `test/__generated__/` is the client's. The preset hard-codes the manifest's file name into its
 * output folder, so only the file name is changed; `--check` compares the same file.
 */
const clientPresetWithManifestBesideSdl: Types.OutputPreset = {
  ...clientPreset,
  async buildGeneratesSection(options) {
    const outputs = await clientPreset.buildGeneratesSection(options);
    return outputs.map((output) =>
      output.filename.endsWith('/persisted-documents.json') ? { ...output, filename: MANIFEST } : output,
    );
  },
};

/**
 * Typed documents for the operations the tests send, generated from the committed client SDL
 * (never from `src/`), the way a frontend team would, plus the persisted-documents manifest of
 * those operations. `npm run codegen:check` fails when either is stale. The client SDL is the API
 * as clients see it: the subgraph SDL (`schema/schema.graphql`) is for gateways and lacks
 * `node`, which only clients of this API get.
 */
const config: CodegenConfig = {
  schema: 'schema/client.graphql',
  documents: ['test/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  emitLegacyCommonJSImports: false,
  generates: {
    'test/__generated__/': {
      preset: clientPresetWithManifestBesideSdl,
      presetConfig: {
        fragmentMasking: false,
        // Every typed document carries its hash in `__meta__.hash` ("sha256:<64 hex>", the
        // GraphQL-over-HTTP document id form); the document itself stays in, because the other
        // tests send documents. A frontend bundle for PERSISTED_OPERATIONS=only would use
        // `mode: 'replaceDocumentWithHash'` to ship hashes alone. sha256 is explicit: it is what
        // this server, Apollo clients and gateways use, whatever the preset's default may become.
        persistedDocuments: { hashAlgorithm: 'sha256', mode: 'embedHashInDocument' },
      },
      config: {
        strictScalars: true,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: {
          DateTime: 'string',
          URL: 'string',
          PhoneNumber: 'string',
          EmailAddress: 'string',
          TimeZone: 'string',
          JSONObject: '{ [key: string]: unknown }',
          JSON: 'unknown',
          LocalDate: 'string',
        },
      },
    },
  },
};

export default config;
