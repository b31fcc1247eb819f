import packageJson from '../../package.json' with { type: 'json' };
import { builder } from './core/builder.js';

/** Apollo Federation version this subgraph speaks (`@link` url). */
export const FEDERATION_LINK = 'https://specs.apollo.dev/federation/v2.6';

export interface ServiceInfo {
  name: string;
  version: string;
  federation: string;
}

/** Fixed at build time (esbuild inlines package.json): answering it never does I/O. */
const SERVICE_INFO: ServiceInfo = Object.freeze({
  name: packageJson.name,
  version: packageJson.version,
  federation: FEDERATION_LINK,
});

/*
 * `telliService: TelliServiceInfo`, not `service: ServiceInfo`: many subgraphs have a root
 * `service` field for deploy checks, and in a supergraph two of them fail composition.
 */
const ServiceInfoRef = builder.objectRef<ServiceInfo>('TelliServiceInfo').implement({
  description: 'What is answering: this GraphQL layer, its release and the federation spec it speaks.',
  fields: (t) => ({
    name: t.exposeString('name', {
      nullable: false,
      description: 'The service name, `telli-graphql`.',
    }),
    version: t.exposeString('version', {
      nullable: false,
      description: 'The release of this layer (semver).',
    }),
    federation: t.exposeString('federation', {
      nullable: false,
      description: 'The Apollo Federation spec this subgraph implements (its `@link` URL).',
    }),
  }),
});

builder.queryField('telliService', (t) =>
  t.field({
    type: ServiceInfoRef,
    nullable: false,
    description: 'Which build of this layer answers. Needs no telli call: useful for deploy checks.',
    resolve: () => SERVICE_INFO,
  }),
);
