import type { ContactPageV2 } from '../../telli/index.js';
import { builder } from '../core/builder.js';
import { ContactRef } from './contact.js';
import { contactNeeds, listedContact, prefetch } from './sources.js';
import { costExtensions } from '../core/cost.js';
import {
  clampFirst,
  connectionTypes,
  MAX_PAGE_SIZE,
  pageReadError,
  positionAfter,
  telliLimit,
  toConnection,
} from '../core/paging.js';

/** telli's default `limit`, used when `first` is omitted. */
export const DEFAULT_PAGE_SIZE = 50;

const ContactConnectionRef = connectionTypes(ContactRef, {
  name: 'Contact',
  item: 'contact',
  items: 'contacts',
  edgeDescription: 'A contact in a `contactsPage`, with the cursor to resume after it.',
  cursorDescription: 'Opaque. Pass as `after` to continue right after this contact.',
  connectionDescription: "A page of contacts in telli's list order (a Relay connection over `GET /v2/contacts`).",
});

builder.queryField('contactsPage', (t) =>
  t.field({
    type: ContactConnectionRef,
    nullable: true,
    description: `Every contact, page by page (\`GET /v2/contacts\`: one telli call per page). Selecting call-state fields (\`status\`, \`callAttempts\`, …) on the contacts adds one v1 batch call per page, never one per contact. Order is telli's; telli offers no filter, sort or total count.`,
    // As many contacts as telli will list (`first` clamped, 50 when omitted). Listed records are
    // full v2 records: fields only v2 has cost no call per contact below.
    extensions: costExtensions({
      contacts: (args) => clampFirst(args['first'], DEFAULT_PAGE_SIZE),
      withV2Records: true,
    }),
    args: {
      first: t.arg.int({
        required: false,
        description: `Contacts per page, clamped to 1–${MAX_PAGE_SIZE} (telli's range); ${DEFAULT_PAGE_SIZE} when omitted.`,
      }),
      after: t.arg.string({
        required: false,
        description:
          'A cursor from a previous page (`pageInfo.endCursor` or an edge `cursor`); omit for the first page.',
      }),
    },
    resolve: async (_root, { first, after }, ctx, info) => {
      const size = clampFirst(first, DEFAULT_PAGE_SIZE);
      const position = positionAfter(after);
      let page: ContactPageV2;
      try {
        page = await ctx.loaders.contactsPageV2.load({
          limit: telliLimit(position, size),
          cursor: position.telliCursor,
        });
      } catch (error) {
        throw pageReadError(error, after, ctx, 'contact');
      }
      const connection = toConnection(
        { items: page.contacts, hasNextPage: page.hasNextPage, nextCursor: page.nextCursor },
        position,
        size,
        listedContact,
      );
      const needs = contactNeeds(info, [['edges', 'node'], ['nodes']]);
      for (const { node } of connection.edges) {
        if (node instanceof Error || !node.v2) continue;
        const key = node.id.toLowerCase();
        // Listed records are full v2 records: the same contact elsewhere in the operation is free.
        ctx.loaders.contactV2ById.prime(key, node.v2);
        // Call state comes from v1: all of the page's ids go into one batch call, now.
        if (needs.v1) prefetch(ctx.loaders.contactById.load(key));
      }
      return connection;
    },
  }),
);
