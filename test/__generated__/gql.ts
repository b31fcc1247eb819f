/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment ContactFields on Contact {\n  id\n  externalId\n  externalUrl\n  createdAt\n  firstName\n  lastName\n  phoneNumber\n  email\n  timezone\n  salutation\n  status\n  inCallSince\n  reachedAt\n  nextCallAt\n  callAttempts\n  contactDetails\n}\n\nquery ContactById($id: ID!) {\n  contact(id: $id) {\n    ...ContactFields\n  }\n}\n\nquery ContactsByIds($ids: [ID!]!) {\n  contacts(ids: $ids) {\n    ...ContactFields\n  }\n}\n\nquery ContactByExternalId($externalId: String!) {\n  contactByExternalId(externalId: $externalId) {\n    ...ContactFields\n  }\n}\n\nquery ContactStatus($id: ID!) {\n  contact(id: $id) {\n    id\n    status\n    inCallSince\n    reachedAt\n  }\n}\n\nquery TwoFields($a: [ID!]!, $b: [ID!]!) {\n  first: contacts(ids: $a) {\n    id\n  }\n  second: contacts(ids: $b) {\n    id\n  }\n}": typeof types.ContactFieldsFragmentDoc,
};
const documents: Documents = {
    "fragment ContactFields on Contact {\n  id\n  externalId\n  externalUrl\n  createdAt\n  firstName\n  lastName\n  phoneNumber\n  email\n  timezone\n  salutation\n  status\n  inCallSince\n  reachedAt\n  nextCallAt\n  callAttempts\n  contactDetails\n}\n\nquery ContactById($id: ID!) {\n  contact(id: $id) {\n    ...ContactFields\n  }\n}\n\nquery ContactsByIds($ids: [ID!]!) {\n  contacts(ids: $ids) {\n    ...ContactFields\n  }\n}\n\nquery ContactByExternalId($externalId: String!) {\n  contactByExternalId(externalId: $externalId) {\n    ...ContactFields\n  }\n}\n\nquery ContactStatus($id: ID!) {\n  contact(id: $id) {\n    id\n    status\n    inCallSince\n    reachedAt\n  }\n}\n\nquery TwoFields($a: [ID!]!, $b: [ID!]!) {\n  first: contacts(ids: $a) {\n    id\n  }\n  second: contacts(ids: $b) {\n    id\n  }\n}": types.ContactFieldsFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment ContactFields on Contact {\n  id\n  externalId\n  externalUrl\n  createdAt\n  firstName\n  lastName\n  phoneNumber\n  email\n  timezone\n  salutation\n  status\n  inCallSince\n  reachedAt\n  nextCallAt\n  callAttempts\n  contactDetails\n}\n\nquery ContactById($id: ID!) {\n  contact(id: $id) {\n    ...ContactFields\n  }\n}\n\nquery ContactsByIds($ids: [ID!]!) {\n  contacts(ids: $ids) {\n    ...ContactFields\n  }\n}\n\nquery ContactByExternalId($externalId: String!) {\n  contactByExternalId(externalId: $externalId) {\n    ...ContactFields\n  }\n}\n\nquery ContactStatus($id: ID!) {\n  contact(id: $id) {\n    id\n    status\n    inCallSince\n    reachedAt\n  }\n}\n\nquery TwoFields($a: [ID!]!, $b: [ID!]!) {\n  first: contacts(ids: $a) {\n    id\n  }\n  second: contacts(ids: $b) {\n    id\n  }\n}"): (typeof documents)["fragment ContactFields on Contact {\n  id\n  externalId\n  externalUrl\n  createdAt\n  firstName\n  lastName\n  phoneNumber\n  email\n  timezone\n  salutation\n  status\n  inCallSince\n  reachedAt\n  nextCallAt\n  callAttempts\n  contactDetails\n}\n\nquery ContactById($id: ID!) {\n  contact(id: $id) {\n    ...ContactFields\n  }\n}\n\nquery ContactsByIds($ids: [ID!]!) {\n  contacts(ids: $ids) {\n    ...ContactFields\n  }\n}\n\nquery ContactByExternalId($externalId: String!) {\n  contactByExternalId(externalId: $externalId) {\n    ...ContactFields\n  }\n}\n\nquery ContactStatus($id: ID!) {\n  contact(id: $id) {\n    id\n    status\n    inCallSince\n    reachedAt\n  }\n}\n\nquery TwoFields($a: [ID!]!, $b: [ID!]!) {\n  first: contacts(ids: $a) {\n    id\n  }\n  second: contacts(ids: $b) {\n    id\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;