import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createBrowserbaseClient } from '../../src/browserbase/index.js';
import { closeJobId } from '../../src/shared/names.js';
import { track } from '../helpers/context.js';
import { startPipeline, waitFor } from '../helpers/pipeline.js';
import { startUi, UI_PASSWORD, UI_USER } from '../helpers/ui-fixture.js';

const OUT = 'test-output';
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function launch(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  return track(browser, 'chromium');
}

/** The job card that shows `jobId`: the nearest element around the id that also holds the card's tabs. */
function jobCard(page: Page, jobId: string) {
  return page.getByText(jobId, { exact: true }).locator('xpath=ancestor::*[.//*[normalize-space(text())="Data"]][1]');
}

describe('queue UI in a browser', () => {
  it('an operator logs in, sees a dead-lettered close with its reason, fixes the cause, clicks Retry, and the close completes', async () => {
    mkdirSync(OUT, { recursive: true });
    const pipe = await startPipeline();
    const ui = await startUi({ prefix: pipe.prefix, credentials: true });

    // A deploy with a wrong API key: the closes are REJECTED (401) and dead-lettered.
    const [sessionId, otherId] = pipe.sim.createSessions(2);
    const jobId = closeJobId(sessionId!);
    const wrong = track(createBrowserbaseClient({ apiKey: 'wrong-key', baseUrl: pipe.sim.url }), 'client');
    const badWorker = await pipe.startWorker({ client: wrong });
    await pipe.producer.closeSessions([sessionId!, otherId!]);
    await waitFor('the dead letters', async () => (await pipe.producer.queues.deadLetterQueue.getJobCounts('failed')).failed === 2);
    await badWorker.close();
    await wrong.close();
    expect(pipe.sim.stats().closes.released).toBe(0);

    // The cause is fixed: a worker with the right key runs.
    const worker = await pipe.startWorker();

    const browser = await launch();
    // Without credentials the browser gets the Basic challenge.
    const anonymous = await browser.newContext();
    const anonymousPage = await anonymous.newPage();
    const statuses: number[] = [];
    anonymousPage.on('response', (r) => statuses.push(r.status()));
    // Headless Chromium has no one to ask for a password: the navigation fails on the challenge.
    await expect(anonymousPage.goto(`${ui.url}/ui`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    expect(statuses).toEqual([401]);
    await anonymous.close();

    const context = await browser.newContext({ httpCredentials: { username: UI_USER, password: UI_PASSWORD }, viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const home = await page.goto(`${ui.url}/ui`);
    expect(home?.status()).toBe(200);

    // Open the DLQ, failed tab.
    await page.getByRole('link', { name: 'dead-letter' }).click();
    await page.getByRole('link', { name: /^FAILED/ }).click();
    const card = jobCard(page, jobId);
    await card.getByText(`REJECTED 401 · ${sessionId}`, { exact: true }).waitFor();
    await card.getByText(/REJECTED \(HTTP 401\): Invalid X-BB-API-Key — session .*, 1 attempt/).waitFor();
    await page.screenshot({ path: `${OUT}/ui-dead-letter.png` });
    await card.getByText('Data', { exact: true }).click();
    await card.getByText('"REJECTED (HTTP 401)"').waitFor();
    await card.getByText(/#1 \d{4}-\d\d-\d\dT.* REJECTED HTTP 401/).first().waitFor();
    await page.screenshot({ path: `${OUT}/ui-dead-letter-data.png` });

    // One click on Retry, then Bull Board's confirmation (on by default).
    await card.locator('button:has(svg.lucide-refresh-cw)').click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByText('Are you sure that you want to retry this job?').waitFor();
    await dialog.getByRole('button', { name: 'Confirm' }).click();

    // The close completes against the simulator, and its letter leaves the DLQ.
    await waitFor('the re-driven close to be released', () => pipe.sim.stats().closes.released === 1, 30_000);
    await waitFor('the letter to leave the DLQ', async () => (await pipe.producer.queues.deadLetterQueue.getJob(jobId)) === undefined);
    expect(pipe.sim.getSession(otherId!)?.status).toBe('RUNNING');

    // "Retry all" re-drives the rest.
    await page.reload();
    await jobCard(page, closeJobId(otherId!)).getByText(`REJECTED 401 · ${otherId}`, { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Retry all' }).click();
    await dialog.getByText('Are you sure that you want to retry all failed jobs?').waitFor();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await waitFor('both closes released', () => pipe.sim.stats().closes.released === 2, 30_000);
    await waitFor('an empty DLQ', async () => Object.values(await pipe.producer.queues.deadLetterQueue.getJobCounts()).every((n) => n === 0));
    await page.getByText('No failed jobs in this queue.').waitFor({ timeout: 15_000 });

    // ...and the UI shows it completed on the close queue, marked as a re-drive.
    await page.getByRole('link', { name: 'close', exact: true }).click();
    await page.getByRole('link', { name: /^COMPLETED/ }).click();
    const done = jobCard(page, jobId);
    await done.getByText(`close · ${sessionId} (re-drive 1)`, { exact: true }).waitFor({ timeout: 15_000 });
    await done.getByText('"closed"', { exact: true }).waitFor();
    await page.screenshot({ path: `${OUT}/ui-redriven.png` });
    const completed = await pipe.producer.queues.closeQueue.getJob(jobId);
    expect(completed?.returnvalue).toMatchObject({ outcome: 'closed', httpStatus: 200 });
    expect(completed?.data).toMatchObject({ source: 'redrive', redriveCount: 1 });

    await context.close();
    await browser.close();
    await worker.close();
    await ui.server.close();
    await pipe.producer.close();
    await pipe.client.close();
    await pipe.sim.close();
  });
});
