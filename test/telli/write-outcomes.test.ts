import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createTelliClient, type TelliClient } from '../../src/telli/index.js';

/**
 * A refusal comes out of the telli client already naming the input field in the layer's names:
 * telli's wire names (`timezoneIana`, `first_name`, `max_retry_days`, …) stay inside src/telli/
 * (contacts/bodies.ts, dialer.ts), and the schema only places the field in its input path.
 */
describe('refusals name our input field', () => {
  let server: Server;
  let client: TelliClient;
  /** What the fake telli answers next: a status and a JSON body. */
  let answer: { status: number; body: unknown } = { status: 400, body: {} };
  const call = { apiKey: 'k' };
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = createTelliClient({ ...parseConfig({}).telli, baseUrl });
  });
  afterAll(async () => {
    await client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const refusedWith = (status: number, message: string) => (answer = { status, body: { message } });
  const contact = { firstName: 'Ada', lastName: 'Lovelace', phoneNumber: '+4917642048466' };

  it('v2 contact writes: timezoneIana is timezone, property is properties', async () => {
    refusedWith(400, 'timezoneIana must be an IANA time zone');
    expect(await client.createContact(contact, call)).toMatchObject({
      ok: false,
      rejection: { reason: 'invalid', field: 'timezone' },
    });
    refusedWith(422, 'Property deal_size is not defined for this account');
    expect(await client.updateContact('3c90c3cc-0d44-4b50-8888-8dd25736052a', { firstName: 'A' }, call)).toMatchObject({
      ok: false,
      rejection: { reason: 'invalid', field: 'properties' },
    });
    refusedWith(400, 'Something is wrong');
    expect(await client.createContact(contact, call)).toMatchObject({ rejection: { field: null } });
  });

  it('the v1 bulk create: its snake_case names, for the whole chunk and for one item', async () => {
    refusedWith(400, 'first_name is required');
    const [whole] = await client.addContacts([{ ...contact, externalId: 'crm-1' }], call);
    expect(whole).toMatchObject({ status: 'refused', rejection: { field: 'firstName' } });
    answer = {
      status: 200,
      body: { result: [{ external_contact_id: 'crm-1', status: 'error', error: 'external_url is invalid' }] },
    };
    const [item] = await client.addContacts([{ ...contact, externalId: 'crm-1' }], call);
    expect(item).toMatchObject({ status: 'refused', rejection: { reason: 'invalid', field: 'externalUrl' } });
  });

  it('the dialer: max_retry_days is maxRetryDays, override_from_number is overrideFromNumber', async () => {
    const contactId = '3c90c3cc-0d44-4b50-8888-8dd25736052a';
    refusedWith(400, 'max_retry_days must be at least 1');
    expect(await client.scheduleCall({ contactId, maxRetryDays: 0 }, call)).toMatchObject({
      ok: false,
      rejection: { field: 'maxRetryDays' },
    });
    answer = {
      status: 200,
      body: [{ contact_id: contactId, status: 'error', error_message: 'override_from_number is invalid' }],
    };
    const [item] = await client.scheduleCalls([{ contactId, agentId: contactId, overrideFromNumber: '+1' }], call);
    expect(item).toMatchObject({ status: 'refused', rejection: { reason: 'invalid', field: 'overrideFromNumber' } });
  });
});
