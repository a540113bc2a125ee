// The browser test of quipu's web UI, second part: stop and retry,
// feedback, the conversations list, the tasks panel by hand, the keyboard
// and accessible names, a session that ends in another tab, and the daily
// quota. Each test signs up a user of its own. By hand, against a running
// stack (the quota test needs one with a small messages_per_day, e.g.
// QUIPU_MESSAGES_PER_DAY=12; it is skipped when the quota is above 40):
//
//   QUIPU_BROWSER_URL=http://127.0.0.1:8080 node --test t/browser/features.test.mjs
//
// Screenshots are named after the test: stop-01-streaming.png, ...

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
	BASE, TEST_TIMEOUT, api, apiItems, ask, hidden, inPage, msgTexts, newUser,
	recordErrors, shot, signUp, threadId, typeAndSend, useBrowser, visible,
	waitAnswered, waitFn,
} from './lib.mjs';

useBrowser();

// The builtin model's help: about 45 words, 40 ms apart under
// `./dev test browser': long enough to stop halfway.
const HELP = 'hello, what can you do?';

// The quota test runs only against a stack whose quota a test can use
// up in a few seconds.
const QUOTA_MAX = 40;

// Waits until the answer being streamed shows at least `words' words.
async function waitStreamingWords(page, words)
{
	await waitFn(page, `the streaming answer to show ${words} words or more`, (n) => {
		const a = document.querySelector('#messages .msg.assistant.streaming .msg-text');
		return a !== null && a.textContent.trim().split(/\s+/).length >= n;
	}, words);
}

// Waits for the last answer to have been stopped: class incomplete, no
// longer streaming, Send back and Stop gone.
async function waitStopped(page)
{
	await waitFn(page, 'the last answer to be .incomplete (not .streaming), ' +
	    '#send shown and #stop hidden', () => {
		const all = document.querySelectorAll('#messages .msg.assistant');
		const last = all[all.length - 1];
		return last !== undefined && last.classList.contains('incomplete') &&
		    !last.classList.contains('streaming') &&
		    !document.querySelector('#send').hidden &&
		    document.querySelector('#stop').hidden;
	});
}

// The last answer: its id, raw text (data-text), shown text and classes.
async function lastAnswer(page)
{
	return page.evaluate(() => {
		const all = document.querySelectorAll('#messages .msg.assistant');
		const a = all[all.length - 1];
		if (!a)
			return null;
		const note = a.querySelector('.msg-note');
		return { id: a.dataset.id, raw: a.dataset.text ?? '',
		    shown: a.querySelector('.msg-text').textContent.trim(),
		    classes: [...a.classList],
		    note: note && !note.hidden && note.getClientRects().length > 0
			? note.textContent.trim() : null };
	});
}

// The ids of the conversations listed, in order.
async function listedThreads(page)
{
	return page.evaluate(() => [...document.querySelectorAll('#thread-list li.thread')]
	    .map((li) => li.dataset.id));
}

async function waitListed(page, what, ids)
{
	await waitFn(page, `#thread-list to list exactly ${what}`, (want) => {
		const got = [...document.querySelectorAll('#thread-list li.thread')]
		    .map((li) => li.dataset.id);
		return got.length === want.length && want.every((id) => got.includes(id));
	}, ids);
}

// Runs the test body with a fresh page where `user' has just signed up,
// leaves the failure artifacts, prints the page's console, and fails on
// an uncaught error in the page.
async function withPage(t, user, name, body)
{
	await inPage(t, name, async (page, context, step) => {
		await page.goto(`${BASE}/`);
		await signUp(page, user);
		await visible(page, '#input', 'the composer');
		await body(page, context, step);
	});
}

// ------------------------------------------------------------------ tests

test('stop: the partial answer stays, marked, across a reload; retry completes it',
    { timeout: TEST_TIMEOUT }, async (t) => {
	await withPage(t, newUser('st'), 'stop', async (page, _context, step) => {
		await typeAndSend(page, HELP);
		await waitStreamingWords(page, 3);
		await shot(page, 'stop-01-streaming');
		await page.click('#stop');
		await waitStopped(page);
		const stopped = await lastAnswer(page);
		t.diagnostic(`stopped at: ${JSON.stringify(stopped.raw)}`);
		assert.ok(stopped.shown.length > 0, 'the stopped answer keeps its text');
		assert.ok(stopped.classes.includes('incomplete'), 'the answer is .incomplete');
		assert.ok(stopped.note !== null && stopped.note !== '',
		    'the stopped answer shows a .msg-note');
		assert.match(stopped.note, /stopped|incomplete/i, 'the note says it stopped');
		await visible(page, '#send', 'Send after Stop');
		await hidden(page, '#stop', 'Stop after stopping');
		// quipu names the conversation when the stopped turn ends; the
		// list should show that name without a reload.
		let titled = true;
		try {
			await waitFn(page, 'the conversation to be named in #thread-list', () => {
				const a = document.querySelector('#thread-list li.thread.active a.thread-open');
				return a !== null && a.textContent.trim() !== '' &&
				    a.textContent.trim() !== 'New conversation';
			}, undefined, 3000);
		} catch {
			titled = false;
		}
		assert.ok(titled, 'the list shows the conversation\'s name after Stop');
		// quipu keeps what the model had written when it noticed the stop,
		// a word or two more than the page had; the page re-reads it once
		// quipu has settled (1.5 s), and nothing streams in after that.
		await page.waitForTimeout(2500);
		const settled = await lastAnswer(page);
		assert.ok(settled.raw.startsWith(stopped.raw),
		    `the settled answer begins with what was shown at Stop: ${JSON.stringify(settled.raw)}`);
		assert.ok(settled.classes.includes('incomplete'), 'still .incomplete once settled');
		if (settled.raw !== stopped.raw)
			t.diagnostic(`stored beyond what was shown at Stop: ${JSON.stringify(
			    settled.raw.slice(stopped.raw.length))}`);
		await page.waitForTimeout(500);
		const still = await lastAnswer(page);
		assert.equal(still.raw, settled.raw, 'nothing is added to a stopped answer');
		await shot(page, 'stop-02-stopped');
		step('stopped');

		const thread = await threadId(page);
		await page.reload();
		await visible(page, '#app', 'after the reload');
		await waitFn(page, 'the stopped answer to render again, still .incomplete',
		    () => document.querySelector('#messages .msg.assistant.incomplete') !== null);
		const again = await lastAnswer(page);
		assert.equal(again.id, stopped.id, 'the same answer after the reload');
		assert.equal(again.raw, settled.raw,
		    'after the reload the answer is the text shown once it settled');
		assert.ok(again.note !== null, 'the reloaded answer shows its .msg-note');
		let items = await apiItems(page, thread);
		const stored = items.find((x) => x.id === stopped.id);
		assert.ok(stored, 'the API has the stopped answer');
		assert.equal(stored.status, 'incomplete', 'its status in the API');
		assert.equal(stored.content, again.raw, 'the page shows the text the API has');
		await shot(page, 'stop-03-reloaded');
		step('reloaded');

		const retry = page.locator(`#messages .msg.assistant[data-id="${stopped.id}"] .retry`);
		await retry.waitFor({ state: 'visible' });
		await retry.click();
		await waitFn(page, 'a new complete answer (not .streaming, not .incomplete)',
		    (old) => {
			const all = document.querySelectorAll('#messages .msg.assistant');
			const last = all[all.length - 1];
			return last !== undefined && last.dataset.id !== old &&
			    !last.classList.contains('streaming') &&
			    !last.classList.contains('incomplete') &&
			    !document.querySelector('#send').hidden;
		}, stopped.id);
		const full = await lastAnswer(page);
		t.diagnostic(`after retry: ${full.raw.length} characters, stopped at ${stopped.raw.length}`);
		assert.ok(full.raw.length > again.raw.length,
		    'the retried answer is longer than the stopped one');
		assert.ok(full.raw.startsWith(stopped.raw.slice(0, 20)),
		    'the retried answer is the same reply');
		assert.equal(full.note, null, 'a complete answer has no note');
		assert.equal(await page.locator('#messages .msg.assistant').count(), 1,
		    'the retry replaced the stopped answer');
		items = await apiItems(page, thread);
		const answers = items.filter((x) => x.role === 'assistant');
		assert.deepEqual(answers.map((x) => [x.id, x.status]), [[full.id, 'completed']],
		    'the API has the retried answer only, completed');
		await shot(page, 'stop-04-retried');
		step('retried');
	});
});

test('feedback: a thumb up is kept across a reload, and taken back',
    { timeout: TEST_TIMEOUT }, async (t) => {
	await withPage(t, newUser('fb'), 'feedback', async (page, _context, step) => {
		await ask(page, 'add buy bread');
		const thread = await threadId(page);
		const { id } = await lastAnswer(page);
		const answer = `#messages .msg.assistant[data-id="${id}"]`;
		const pressed = (sel) => page.locator(`${answer} ${sel}`).getAttribute('aria-pressed');
		const apiFeedback = async () =>
		    (await apiItems(page, thread)).find((x) => x.id === id).feedback;
		assert.equal(await pressed('.thumb-up'), 'false', 'not pressed at first');
		await page.click(`${answer} .thumb-up`);
		await waitFn(page, '.thumb-up[aria-pressed="true"]', (sel) =>
		    document.querySelector(`${sel} .thumb-up`)?.getAttribute('aria-pressed') === 'true',
		    answer);
		assert.equal(await pressed('.thumb-down'), 'false', 'thumb down stays unpressed');
		await shot(page, 'feedback-01-up');
		step('thumb up');

		await page.reload();
		await visible(page, answer, 'the answer after the reload');
		await waitFn(page, '.thumb-up[aria-pressed="true"] after the reload', (sel) =>
		    document.querySelector(`${sel} .thumb-up`)?.getAttribute('aria-pressed') === 'true',
		    answer);
		assert.equal(await pressed('.thumb-down'), 'false', 'thumb down after the reload');
		assert.equal(await apiFeedback(), 'positive', 'the API has the feedback');
		await shot(page, 'feedback-02-reloaded');
		step('reloaded');

		await page.click(`${answer} .thumb-up`);
		await waitFn(page, '.thumb-up[aria-pressed="false"] after a second click', (sel) =>
		    document.querySelector(`${sel} .thumb-up`)?.getAttribute('aria-pressed') === 'false',
		    answer);
		assert.equal(await apiFeedback(), null, 'the API has no feedback any more');
		await shot(page, 'feedback-03-taken-back');
		step('taken back');
	});
});

test('threads: rename, pin, search, delete the open one', { timeout: TEST_TIMEOUT }, async (t) => {
	await withPage(t, newUser('th'), 'threads', async (page, _context, step) => {
		await ask(page, 'add buy apples');
		const a = await threadId(page);
		await page.click('#new-chat');
		await waitFn(page, 'the new-chat state: URL #/, no message, #chat-empty', () =>
		    (location.hash === '#/' || location.hash === '') &&
		    document.querySelectorAll('#messages .msg').length === 0 &&
		    !document.querySelector('#chat-empty').hidden);
		await ask(page, 'add call grandma');
		const b = await threadId(page);
		assert.notEqual(a, b, 'New chat made a second conversation');
		await waitListed(page, 'the two conversations', [a, b]);
		assert.deepEqual(await listedThreads(page), [b, a], 'the newest first');
		await shot(page, 'threads-01-two');
		step('two conversations');

		// Rename the newer one.
		const rowB = `#thread-list li.thread[data-id="${b}"]`;
		await page.click(`${rowB} .thread-rename`);
		const input = page.locator(`${rowB} input.thread-title-input`);
		await input.waitFor({ state: 'visible' });
		await input.fill('Weekend plans');
		await shot(page, 'threads-02-renaming');
		await input.press('Enter');
		await waitFn(page, 'the renamed conversation to read "Weekend plans"', (sel) =>
		    document.querySelector(`${sel} a.thread-open`)?.textContent.trim() ===
		    'Weekend plans', rowB);
		assert.equal(await page.locator(`${rowB} input.thread-title-input`).count(), 0,
		    'the title field is gone');
		const gotB = await api(page, 'GET', `/api/v1/threads/${b}`);
		assert.equal(gotB.status, 200, `GET /api/v1/threads/${b}`);
		assert.equal(gotB.body.title, 'Weekend plans', 'the API has the new title');
		await shot(page, 'threads-03-renamed');
		step('renamed');

		// Pin the older one: it comes first.
		const rowA = `#thread-list li.thread[data-id="${a}"]`;
		await page.click(`${rowA} .thread-pin`);
		await waitFn(page, 'the pinned conversation first, with class pinned', (id) => {
			const first = document.querySelector('#thread-list li.thread');
			return first?.dataset.id === id && first.classList.contains('pinned');
		}, a);
		assert.deepEqual(await listedThreads(page), [a, b], 'pinned first, then the other');
		assert.equal(await page.locator(`${rowB}.pinned`).count(), 0, 'the other is not pinned');
		assert.match(await page.locator(`${rowA} .thread-pin`).getAttribute('aria-label'),
		    /^Unpin /, 'the pin button now unpins');
		const gotA = await api(page, 'GET', `/api/v1/threads/${a}`);
		assert.equal(gotA.body.metadata?.pinned, true, 'the API has it pinned');
		await shot(page, 'threads-04-pinned');
		step('pinned');

		// Search a word of the renamed one's message only.
		await page.fill('#thread-search', 'grandma');
		await waitListed(page, 'the conversation that says "grandma"', [b]);
		await shot(page, 'threads-05-search');
		await page.fill('#thread-search', '');
		await waitListed(page, 'both conversations again', [a, b]);
		assert.deepEqual(await listedThreads(page), [a, b], 'the order after the search');
		step('searched');

		// Delete the open one.
		await waitFn(page, 'the open conversation to be .active', (sel) =>
		    document.querySelector(sel)?.classList.contains('active'), rowB);
		await page.click(`${rowB} .thread-delete`);
		await visible(page, 'dialog#confirm', 'the confirm dialog');
		assert.match(await page.locator('#confirm-text').textContent(), /Weekend plans/,
		    'the dialog names the conversation');
		await shot(page, 'threads-06-confirm');
		await page.click('#confirm-ok');
		await hidden(page, 'dialog#confirm', 'the dialog after OK');
		await waitListed(page, 'the other conversation only', [a]);
		const gone = await api(page, 'GET', `/api/v1/threads/${b}`);
		assert.equal(gone.status, 404, 'GET of the deleted conversation');
		await waitFn(page, 'the new-chat state after deleting the open conversation', () =>
		    (location.hash === '#/' || location.hash === '') &&
		    document.querySelectorAll('#messages .msg').length === 0 &&
		    !document.querySelector('#chat-empty').hidden);
		assert.ok(!(await page.evaluate(() => document.querySelector('#chat').innerText))
		    .includes('grandma'), 'nothing of the deleted conversation shows');
		assert.equal(await page.locator(`${rowA}.pinned`).count(), 1, 'the other stays pinned');
		await shot(page, 'threads-07-deleted');
		step('deleted');
	});
});

test('tasks by hand: add, complete, delete', { timeout: TEST_TIMEOUT }, async (t) => {
	await withPage(t, newUser('tk'), 'tasks', async (page, _context, step) => {
		const title = 'water the plants';
		const count = () => page.evaluate(() =>
		    document.querySelector('#task-count').textContent.trim());
		await waitFn(page, '#task-count to say "0 open"', () =>
		    /^0 open$/.test(document.querySelector('#task-count').textContent.trim()));
		await page.fill('#task-title', title);
		await page.click('#task-add-submit');
		await waitFn(page, `an open li.task "${title}"`, (want) =>
		    [...document.querySelectorAll('#task-list li.task:not(.done) .task-title')]
		    .some((e) => e.textContent.trim() === want), title);
		await waitFn(page, '#task-count to say "1 open"', () =>
		    /^1 open$/.test(document.querySelector('#task-count').textContent.trim()));
		assert.equal(await page.inputValue('#task-title'), '', 'the field is emptied');
		const row = page.locator('#task-list li.task', { hasText: title });
		const id = await row.getAttribute('data-id');
		assert.match(id ?? '', /^\d+$/, 'li.task has the task id');
		const one = await api(page, 'GET', `/api/v1/tasks/${id}`);
		assert.equal(one.status, 200, `GET /api/v1/tasks/${id}`);
		assert.equal(one.body.title, title, 'the API has the task');
		await shot(page, 'tasks-01-added');
		step('added');

		const li = `#task-list li.task[data-id="${id}"]`;
		await page.click(`${li} input.task-done`);
		await waitFn(page, 'the done task to leave the Open filter', (sel) =>
		    document.querySelector(sel) === null, li);
		await waitFn(page, '#task-count to say "0 open"', () =>
		    /^0 open$/.test(document.querySelector('#task-count').textContent.trim()));
		await page.selectOption('#task-filter', 'all');
		await waitFn(page, `li.task.done "${title}" under All`, (sel) =>
		    document.querySelector(sel)?.classList.contains('done') &&
		    document.querySelector(`${sel} input.task-done`).checked, li);
		const done = await api(page, 'GET', `/api/v1/tasks/${id}`);
		assert.equal(done.body.completed, true, 'the API has it completed');
		await shot(page, 'tasks-02-done');
		step('completed');

		await page.click(`${li} .task-delete`);
		await waitFn(page, 'the task to leave the list', (sel) =>
		    document.querySelector(sel) === null, li);
		const gone = await api(page, 'GET', `/api/v1/tasks/${id}`);
		assert.equal(gone.status, 404, 'GET of the deleted task');
		assert.equal(await count(), '0 open', '#task-count');
		await shot(page, 'tasks-03-deleted');
		step('deleted');
	});
});

// The accessible name of each rendered control that has none: its text
// (buttons), aria-label, aria-labelledby or a <label>. title= and
// placeholder= do not count.
function unnamedControls()
{
	const named = (el) => {
		const ids = (el.getAttribute('aria-labelledby') || '').split(/\s+/)
		    .filter(Boolean);
		if (ids.some((i) => document.getElementById(i)?.textContent.trim()))
			return true;
		if ((el.getAttribute('aria-label') || '').trim() !== '')
			return true;
		if ([...(el.labels || [])].some((l) => l.textContent.trim() !== ''))
			return true;
		if (el.tagName === 'BUTTON' && el.textContent.trim() !== '')
			return true;
		if (el.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type) &&
		    el.value.trim() !== '')
			return true;
		return false;
	};
	const out = [];
	for (const el of document.querySelectorAll('button, input, select, textarea')) {
		if (el.type === 'hidden' || el.getClientRects().length === 0)
			continue;
		if (!named(el))
			out.push(el.outerHTML.replace(/\s+/g, ' ').slice(0, 160));
	}
	return out;
}

test('keyboard and labels: Tab reaches the composer, Enter sends, Escape stops; every control is named',
    { timeout: TEST_TIMEOUT }, async (t) => {
	await withPage(t, newUser('kb'), 'keyboard', async (page, _context, step) => {
		// A task, a widget and a conversation, for their controls.
		await ask(page, 'add feed the cat');
		await waitFn(page, 'the task in the panel', () =>
		    document.querySelector('#task-list li.task') !== null);
		step('set up');

		// A fresh load, signed in, focus nowhere.
		await page.goto(`${BASE}/`);
		await visible(page, '#app', 'signed in after a fresh load');
		await waitFn(page, 'the conversation and the task to be listed', () =>
		    document.querySelector('#thread-list li.thread') !== null &&
		    document.querySelector('#task-list li.task') !== null);
		const path = [];
		let reached = false;
		for (let i = 0; i < 40 && !reached; i++) {
			await page.keyboard.press('Tab');
			const f = await page.evaluate(() => {
				const e = document.activeElement;
				return e ? `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}` +
				    `${e.className && typeof e.className === 'string'
					? `.${e.className.trim().split(/\s+/)[0]}` : ''}` : 'none';
			});
			path.push(f);
			reached = f.startsWith('textarea#input');
		}
		t.diagnostic(`Tab order: ${path.join(' ')}`);
		assert.ok(reached, `Tab reaches #input within 40 presses: ${path.join(' ')}`);
		await shot(page, 'keyboard-01-focused');
		step(`Tab x${path.length}`);

		await page.keyboard.type(HELP);
		await page.keyboard.press('Enter');
		await waitFn(page, 'Enter to send the message', (want) =>
		    [...document.querySelectorAll('#messages .msg.user .msg-text')]
		    .some((e) => e.textContent.trim() === want), HELP);
		assert.equal(await page.inputValue('#input'), '', 'the composer is emptied');
		await waitStreamingWords(page, 3);
		await page.keyboard.press('Escape');
		await waitStopped(page);
		const stopped = await lastAnswer(page);
		assert.ok(stopped.shown.length > 0 && stopped.note !== null,
		    'Escape stopped the answer: partial text and a note');
		await shot(page, 'keyboard-02-escape-stopped');
		step('Enter sent, Escape stopped');

		const chatOffenders = await page.evaluate(unnamedControls);
		assert.deepEqual(chatOffenders, [],
		    `controls without an accessible name on the chat page:\n  ${chatOffenders.join('\n  ')}`);

		await page.click('#nav-memory');
		await visible(page, '#memory', 'the memory page');
		await page.fill('#memory-content', 'I like green tea');
		await page.locator('#memory-add button', { hasText: 'Remember' }).click();
		await waitFn(page, 'li.memory', () =>
		    document.querySelector('#memory-list li.memory') !== null);
		const memoryOffenders = await page.evaluate(unnamedControls);
		assert.deepEqual(memoryOffenders, [],
		    `controls without an accessible name on #/memory:\n  ${memoryOffenders.join('\n  ')}`);
		const counted = await page.evaluate(() =>
		    [...document.querySelectorAll('button, input, select, textarea')]
		    .filter((e) => e.getClientRects().length > 0).length);
		t.diagnostic(`${counted} controls rendered on #/memory, all named`);
		await shot(page, 'keyboard-03-memory');
		step('names');
	});
});

test('the session ends in another tab: the page signs out and forgets the user',
    { timeout: TEST_TIMEOUT }, async (t) => {
	const user = newUser('se');
	await withPage(t, user, 'session', async (page, context, step) => {
		await ask(page, 'add water the garden');
		await waitFn(page, 'the task and the conversation to be listed', () =>
		    document.querySelector('#task-list li.task') !== null &&
		    document.querySelector('#thread-list li.thread') !== null);
		await shot(page, 'session-01-signed-in');

		// Tab B, same cookies, signs out by the API.
		const other = recordErrors(await context.newPage());
		await other.goto(`${BASE}/`);
		await visible(other, '#app', 'the second tab is signed in too');
		const out = await api(other, 'POST', '/api/v1/auth/logout');
		assert.equal(out.status, 204, 'POST /api/v1/auth/logout from the second tab');
		await other.close();
		step('signed out in another tab');

		const draft = 'add check the mailbox';
		await typeAndSend(page, draft);
		await visible(page, '#auth', 'the sign-in screen');
		await hidden(page, '#app', 'the app once the session ended');
		await visible(page, '#auth-error', 'why the sign-in screen shows');
		const why = (await page.locator('#auth-error').textContent()).trim();
		assert.match(why, /session.*ended|signed out/i,
		    `#auth-error says the session ended: ${JSON.stringify(why)}`);
		// Late answers of the page's own requests must not bring anything
		// back: give them a moment.
		await page.waitForTimeout(1000);
		const left = await page.evaluate(() => ({
			threads: document.querySelector('#thread-list').children.length,
			tasks: document.querySelector('#task-list').children.length,
			messages: document.querySelector('#messages').children.length,
			memories: document.querySelector('#memory-list').children.length,
			text: document.body.textContent,
		}));
		assert.equal(left.threads, 0, '#thread-list is empty');
		assert.equal(left.tasks, 0, '#task-list is empty');
		assert.equal(left.messages, 0, '#messages is empty');
		assert.equal(left.memories, 0, '#memory-list is empty');
		for (const s of ['water the garden', 'check the mailbox'])
			assert.ok(!left.text.includes(s), `"${s}" is nowhere in the page`);
		assert.equal(await page.locator('#auth-password').inputValue(), '',
		    'the password field is empty');
		const form = await page.evaluate(() => ({
			submit: document.querySelector('#auth-submit').textContent.trim(),
			displayShown: document.querySelector('#auth-display').getClientRects().length > 0,
			display: document.querySelector('#auth-display').value,
		}));
		await shot(page, 'session-02-ended');
		step('signed out here');

		// The next person at this screen signs in: nothing of the first
		// user may show, the refused message in the composer included.
		const next = newUser('sf');
		await signUp(page, next);
		await waitFn(page, `#user-name to show "${next.display}"`, (want) =>
		    document.querySelector('#user-name')?.textContent.trim() === want, next.display);
		await waitFn(page, 'the new user\'s empty task list', () =>
		    /^0 open$/.test(document.querySelector('#task-count').textContent.trim()));
		const after = await page.evaluate(() => ({
			input: document.querySelector('#input').value,
			height: document.querySelector('#input').getBoundingClientRect().height,
			send: document.querySelector('#send').getBoundingClientRect().height,
			text: document.body.innerText,
		}));
		for (const s of ['water the garden', user.display])
			assert.ok(!after.text.includes(s), `"${s}" is not shown to the next user`);
		await shot(page, 'session-03-next-user');
		step('the next user');
		// The sign-in screen asks to sign in, without the display name.
		assert.equal(form.submit, 'Sign in', '#auth-submit after the session ended');
		assert.ok(!form.displayShown, '#auth-display is hidden');
		assert.equal(form.display, '', '#auth-display is emptied');
		// The next user's composer is empty, and as tall as Send.
		assert.equal(after.input, '',
		    `#input holds the first user's refused message ${JSON.stringify(after.input)}`);
		assert.ok(after.height >= after.send - 4,
		    `#input is ${after.height}px tall, #send ${after.send}px`);
	});
});

test('quota: past the day\'s messages, the refusal says when, and the text comes back',
    { timeout: TEST_TIMEOUT }, async (t) => {
	await withPage(t, newUser('q'), 'quota', async (page, _context, step) => {
		// The first turn's headers say the quota.
		const first = page.waitForResponse((r) => r.url().endsWith('/api/chatkit') &&
		    (r.request().postData() || '').includes('threads.create'));
		await ask(page, 'add t1');
		const policy = (await first).headers()['ratelimit-policy'] || '';
		const m = /"messages";q=(\d+)/.exec(policy);
		assert.ok(m, `the turn has a RateLimit-Policy: ${JSON.stringify(policy)}`);
		const limit = Number(m[1]);
		t.diagnostic(`messages_per_day: ${limit}`);
		if (limit > QUOTA_MAX) {
			t.skip(`the stack's quota (${limit}) is above ${QUOTA_MAX}: ` +
			    'run it with QUIPU_MESSAGES_PER_DAY=12');
			return;
		}
		// The hint under the box appears when 10 or fewer are left.
		if (limit - 1 > 10)
			assert.equal((await page.textContent('#quota-hint')).trim(), '',
			    `no quota hint while ${limit - 1} messages are left`);
		for (let i = 2; i <= limit; i++)
			await ask(page, `add t${i}`);
		assert.equal((await msgTexts(page, 'user')).length, limit,
		    `${limit} messages sent`);
		assert.equal((await page.textContent('#quota-hint')).trim(),
		    'That was today\'s last message.', '#quota-hint after the last one');
		await shot(page, 'quota-01-used-up');
		step(`${limit} messages`);

		const refused = `add t${limit + 1}`;
		await typeAndSend(page, refused);
		await visible(page, '#chat-error', 'the refusal');
		await waitFn(page, '#send back after the refusal', () =>
		    !document.querySelector('#send').hidden);
		const why = (await page.locator('#chat-error-text').textContent())
		    .replace(/\s+/g, ' ');
		t.diagnostic(`#chat-error: ${why.trim()}`);
		assert.match(why, /You have used all of today's messages/,
		    '#chat-error says the messages are used up');
		assert.match(why, /You can send more in \d+ (h \d+ min|min|s)\b/,
		    '#chat-error says when more can be sent');
		assert.ok(await page.locator('#chat-error-retry').isHidden(),
		    'no "Try again" for a quota refusal');
		await waitFn(page, 'the refused text back in #input', (want) =>
		    document.querySelector('#input').value === want, refused);
		const users = await msgTexts(page, 'user');
		assert.equal(users.length, limit, 'no extra user message stays in #messages');
		assert.ok(!users.includes(refused), 'the refused message is not shown as sent');
		assert.equal(await page.locator('#messages .msg.user.pending').count(), 0,
		    'no pending message is left');
		const items = await apiItems(page, await threadId(page));
		assert.equal(items.filter((x) => x.role === 'user').length, limit,
		    'the API stored no refused message');
		await shot(page, 'quota-02-refused');
		step('refused');
		// A long conversation scrolls inside #messages; the page itself
		// stays as tall as the window.
		const tall = await page.evaluate(() => ({
			doc: document.documentElement.scrollHeight, win: window.innerHeight,
			messages: document.querySelector('#messages').scrollHeight >
			    document.querySelector('#messages').clientHeight,
		}));
		assert.ok(tall.messages, '#messages scrolls');
		assert.ok(tall.doc <= tall.win,
		    `the page does not scroll, only #messages: the document is ${tall.doc}px ` +
		    `tall in a ${tall.win}px window`);
	});
});

test('memories used: an answer shows what quipu remembered for it, after a reload too',
    { timeout: TEST_TIMEOUT }, async (t) => {
	await withPage(t, newUser('mu'), 'memused', async (page, _context, step) => {
		await ask(page, 'I live in Paris');
		// Extraction runs after the answer.
		for (let i = 0; ; i++) {
			const l = await api(page, 'GET', '/api/v1/memories');
			if (l.body.items.some((m) => m.content === 'Lives in Paris'))
				break;
			assert.ok(i < 50, 'the memory "Lives in Paris" is extracted within 10 s');
			await page.waitForTimeout(200);
		}
		await page.click('#new-chat');
		await waitFn(page, 'a new chat', () => location.hash === '#/' &&
		    document.querySelectorAll('#messages .msg').length === 0);
		const answer = await ask(page, 'where do I live?');
		assert.match(answer, /Paris/, 'the answer uses the memory');
		const note = page.locator('#messages .msg.assistant .msg-memories');
		await note.waitFor({ state: 'visible' });
		assert.match(await note.locator('summary').textContent(), /Remembered 1 thing/);
		await note.locator('summary').click();
		assert.deepEqual(await note.locator('li').allTextContents(), ['Lives in Paris'],
		    'the memory it used, listed');
		await shot(page, 'memused-01-answer');
		step('answered with a memory');
		await page.reload();
		await visible(page, '#messages .msg.assistant .msg-memories', 'after a reload');
		assert.deepEqual(await page.locator('#messages .msg-memories li').allTextContents(),
		    ['Lives in Paris'], 'the same memory after a reload');
		step('reloaded');
	});
});

test('busy elsewhere: a message to a thread answering in another tab waits its turn',
    { timeout: TEST_TIMEOUT }, async (t) => {
	await withPage(t, newUser('bz'), 'busy', async (page, context, step) => {
		await ask(page, 'add first thing');
		const thread = await threadId(page);
		// A second tab on the same conversation starts a long answer.
		const other = recordErrors(await context.newPage());
		await other.goto(`${BASE}/#/t/${thread}`);
		await visible(other, '#messages .msg.user', 'the conversation in the other tab');
		const conflicts = [];
		page.on('response', (r) => {
			if (r.url().endsWith('/api/chatkit') && r.status() === 409)
				conflicts.push(r.status());
		});
		await typeAndSend(other, HELP);
		await waitStreamingWords(other, 25);
		// This tab's message meets the busy thread (409), waits and goes.
		const second = 'add second thing';
		await typeAndSend(page, second);
		await waitAnswered(page, second);
		assert.ok(conflicts.length >= 1,
		    'the first try met the answer still running (409)');
		assert.ok(await page.locator('#chat-error').isHidden(), 'no error is shown');
		const answers = await msgTexts(page, 'assistant');
		assert.match(answers[answers.length - 1], /second thing/,
		    'the waiting message was answered');
		const items = await apiItems(page, thread);
		assert.equal(items.filter((x) => x.role === 'user').length, 3,
		    'all three messages are stored');
		assert.deepEqual(other.quipuErrors, [], 'no uncaught error in the other tab');
		await shot(page, 'busy-01-answered');
		step(`answered after ${conflicts.length} busy answer(s)`);
		await other.close();
	});
});
