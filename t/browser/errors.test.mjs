// The browser test of quipu's web UI when the model's server is down: a
// stack whose llm_base_url points at a closed port, with no retries.
// `./dev test browser' starts one beside the main stack and passes its
// address; by hand:
//
//   QUIPU_BROWSER_DOWN_URL=http://127.0.0.1:8182 node --test t/browser/errors.test.mjs
//
// Without QUIPU_BROWSER_DOWN_URL the test is skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
	TEST_TIMEOUT, apiItems, inPage, msgTexts, newUser, shot, signUp, threadId,
	typeAndSend, useBrowser, visible, waitFn,
} from './lib.mjs';

const DOWN = (process.env.QUIPU_BROWSER_DOWN_URL || '').replace(/\/+$/, '');

useBrowser();

const UNAVAILABLE = /assistant (is unavailable|could not answer)/i;

// Counts the times #chat-error is shown, in window.quipuErrorShown, so that
// a second failure is seen even when it follows the first at once.
async function countErrorBars(page)
{
	await page.evaluate(() => {
		const bar = document.querySelector('#chat-error');
		window.quipuErrorShown = bar.hidden ? 0 : 1;
		let was = bar.hidden;
		new MutationObserver(() => {
			if (was && !bar.hidden)
				window.quipuErrorShown++;
			was = bar.hidden;
		}).observe(bar, { attributes: true, attributeFilter: ['hidden'] });
	});
}

async function errorText(page)
{
	return (await page.locator('#chat-error-text').textContent()).trim();
}

test('upstream down: the error says so, the message stays, retry fails the same way',
    { timeout: TEST_TIMEOUT, skip: DOWN === '' && 'QUIPU_BROWSER_DOWN_URL is not set' },
    async (t) => {
	await inPage(t, 'down', async (page, context, step) => {
		const message = 'add buy milk';
		await page.goto(`${DOWN}/`);
		await signUp(page, newUser('dn'));
		await visible(page, '#input', 'the composer');
		await countErrorBars(page);
		step('signed up');

		await typeAndSend(page, message);
		await visible(page, '#chat-error', 'the error bar');
		await waitFn(page, 'the turn to end (#send back)', () =>
		    !document.querySelector('#send').hidden);
		const first = await errorText(page);
		t.diagnostic(`#chat-error: ${first}`);
		assert.match(first, UNAVAILABLE, '#chat-error says the assistant is unavailable');
		await visible(page, '#chat-error-retry', 'the retry button');
		await waitFn(page, 'the user message to stay, stored (data-id)', (want) =>
		    [...document.querySelectorAll('#messages .msg.user[data-id] .msg-text')]
		    .some((e) => e.textContent.trim() === want), message);
		const answers = await page.evaluate(() =>
		    [...document.querySelectorAll('#messages .msg.assistant')].map((a) =>
			`${a.className}: ${JSON.stringify(a.querySelector('.msg-text').textContent)}`));
		t.diagnostic(`answers shown: ${answers.join('; ') || 'none'}`);
		assert.equal(await page.locator('#messages .msg.assistant.streaming').count(), 0,
		    'no answer is left streaming');
		const thread = await threadId(page);
		let items = await apiItems(page, thread);
		t.diagnostic(`stored: ${items.map((x) => `${x.role}/${x.status}`).join(' ')}`);
		await shot(page, 'down-01-error');
		step('first failure');

		await page.click('#chat-error-retry');
		await waitFn(page, '#chat-error to show a second time', () =>
		    window.quipuErrorShown >= 2 && !document.querySelector('#chat-error').hidden &&
		    !document.querySelector('#send').hidden);
		const second = await errorText(page);
		assert.match(second, UNAVAILABLE, 'the retry fails the same way');
		await visible(page, '#chat-error-retry', 'the retry button after the retry');
		assert.deepEqual(await msgTexts(page, 'user'), [message],
		    'the user message is still there, once');
		items = await apiItems(page, thread);
		t.diagnostic(`stored after the retry: ${items.map((x) => `${x.role}/${x.status}`).join(' ')}`);
		assert.equal(items.filter((x) => x.role === 'user').length, 1,
		    'the API has the user message once');
		assert.equal(items.filter((x) => x.role === 'assistant' &&
		    x.status === 'completed').length, 0, 'and no completed answer');
		await shot(page, 'down-02-retried');
		step('retried');

		// A reload shows the conversation as quipu stored it.
		await page.reload();
		await visible(page, '#app', 'after the reload');
		await waitFn(page, 'the user message after the reload', (want) =>
		    [...document.querySelectorAll('#messages .msg.user .msg-text')]
		    .some((e) => e.textContent.trim() === want), message);
		const shown = await page.evaluate(() =>
		    [...document.querySelectorAll('#messages .msg.assistant')].map((a) =>
			`${a.className}: ${JSON.stringify(a.querySelector('.msg-text').textContent)}` +
			` (${a.querySelector('.msg-note')?.textContent ?? ''})`));
		t.diagnostic(`answers shown after the reload: ${shown.join('; ') || 'none'}`);
		assert.equal(await page.locator('#messages .msg.assistant.streaming').count(), 0,
		    'no answer streams after the reload');
		await shot(page, 'down-03-reloaded');
		step('reloaded');
	});
});
