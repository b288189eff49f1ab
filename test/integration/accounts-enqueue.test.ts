// Producers name the account of each close: each account's closes go to its own queue, under job
// ids that name the account, so every reader (wait, dead letters, re-drive) finds them.
import { describe, expect, it } from 'vitest';
import { requeueClose } from '../../src/dead-letters/store.js';
import { readCloseStatuses } from '../../src/dead-letters/close-status.js';
import { createProducer } from '../../src/producer/index.js';
import { accountOfJobId, closeJobId, closeJobIdFor, closeQueueName, parseCloseJobRef } from '../../src/shared/names.js';
import { testRedisUrl, track, uniquePrefix } from '../helpers/context.js';

describe('close job ids and queues per account', () => {
  it('default keeps the ids and queue of before; another account has its own, and each id names its account', () => {
    expect(closeJobId('s-1')).toBe('close-s-1');
    expect(closeJobIdFor('default', 's-1')).toBe('close-s-1');
    expect(closeJobIdFor('prod', 'a/b@c')).toBe('close@prod/a%2Fb%40c');
    expect(parseCloseJobRef('close@prod/a%2Fb%40c')).toEqual({ sessionId: 'a/b@c', account: 'prod' });
    expect(parseCloseJobRef('close-s-1')).toEqual({ sessionId: 's-1', account: 'default' });
    for (const bad of ['close@/x', 'close@Prod/x', 'close@prod', 'close@default/x', 'other', 'close@prod/%E0%A4%A']) expect(parseCloseJobRef(bad)).toBeUndefined();
    expect(accountOfJobId('close@staging-2/x')).toBe('staging-2');
    expect(closeQueueName('default')).toBe('close');
    expect(closeQueueName('prod')).toBe('close@prod');
    // ids.map(closeJobId) must not take the index for an account
    expect(['a', 'b'].map(closeJobId)).toEqual(['close-a', 'close-b']);
  });
});

describe('enqueueing closes for several accounts', () => {
  it('routes each item to its account queue (per item, or for the call), refuses a bad account name, and reads statuses per account', async () => {
    const prefix = uniquePrefix('acct-enqueue');
    const producer = track(createProducer({ redisUrl: testRedisUrl(), prefix }), 'producer');
    try {
      const report = await producer.closeSessions([
        'shared-id',
        { sessionId: 'shared-id', account: 'prod' },
        { sessionId: 'p-2', account: 'prod', requestId: 'r-2' },
        { sessionId: 'x-1', account: 'Not Valid' },
        { sessionId: 'x-2', account: 7 } as never,
      ]);
      expect(report).toMatchObject({ accepted: 3, duplicates: 0, invalidCount: 2 });
      expect(report.invalid.map((i) => i.reason)).toEqual([expect.stringMatching(/^`account` must be an account name/), expect.stringMatching(/^`account` must be an account name/)]);
      expect(report.jobIds).toEqual(['close-shared-id', 'close@prod/shared-id', 'close@prod/p-2']);

      const forCall = await producer.closeSessions(['s-3', { sessionId: 's-4', account: 'staging' }], { account: 'prod' });
      expect(forCall.jobIds).toEqual(['close@prod/s-3', 'close@staging/s-4']);
      const again = await producer.closeSession('p-2', { account: 'prod' });
      expect(again).toMatchObject({ accepted: 0, duplicates: 1 });

      const ids = async (account: string) => (await producer.queues.closeQueueFor(account).getWaiting()).map((j) => j.id).sort();
      expect(await ids('default')).toEqual(['close-shared-id']);
      expect(await ids('prod')).toEqual(['close@prod/p-2', 'close@prod/s-3', 'close@prod/shared-id']);
      expect(await ids('staging')).toEqual(['close@staging/s-4']);
      const job = await producer.queues.closeQueueFor('prod').getJob('close@prod/p-2');
      expect(job?.data).toMatchObject({ sessionId: 'p-2', account: 'prod', requestId: 'r-2' });
      expect((await producer.queues.closeQueue.getJob('close-shared-id'))?.data.account).toBeUndefined();

      const statuses = await readCloseStatuses({ queues: producer.queues, redis: producer.redis }, ['close@prod/p-2', 'close@staging/s-4', 'close@staging/nothing']);
      expect(statuses.map((s) => s.kind)).toEqual(['pending', 'pending', 'missing']);

      // a re-drive goes back to the queue its job id names
      await producer.queues.closeQueueFor('staging').remove('close@staging/s-4');
      await requeueClose(producer.queues, { sourceJobId: 'close@staging/s-4', sessionId: 's-4', enqueuedAt: Date.now(), history: [] });
      expect(await ids('staging')).toEqual(['close@staging/s-4']);
      expect((await producer.queues.closeQueueFor('staging').getJob('close@staging/s-4'))?.data).toMatchObject({ account: 'staging', source: 'redrive' });
    } finally {
      for (const a of ['default', 'prod', 'staging']) await producer.queues.closeQueueFor(a).obliterate({ force: true });
      await producer.close();
    }
  });
});
