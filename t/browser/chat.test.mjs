// The browser test of quipu's web UI (issue 8): Debian's Chromium, headless,
// driven by playwright-core against a running stack. `./dev test browser'
// starts one and runs this; by hand:
//
//   QUIPU_BROWSER_URL=http://127.0.0.1:8080 node --test t/browser/chat.test.mjs
//
// The selectors are the UI's DOM contract (README.md here). Every step
// leaves a screenshot in QUIPU_BROWSER_ARTIFACTS; a failing test leaves
// failure-<test>.png (and .html) there too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
	BASE, PHONE, TEST_TIMEOUT, api, hidden, inPage, shot, signIn, signUp,
	useBrowser, visible, waitFn, widths,
} from './lib.mjs';

useBrowser();

// One fresh account per run, so that runs never see each other's data.
// The password is random and never printed.
const stamp = Date.now();
const chatUser = { name: `b${stamp}`, display: `Browser ${stamp}`,
    password: randomBytes(12).toString('hex') };
let chatUserExists = false;

const PROMPT = 'add buy milk tomorrow';

// ------------------------------------------------------------------ tests

test('chat: sign up, a streamed answer, its task, the widget, reload, sign out',
    { timeout: TEST_TIMEOUT }, async (t) => {
	await inPage(t, 'chat', async (page, context, step) => {
		// a. Signed out: the sign-in screen, not the app.
		await page.goto(`${BASE}/`);
		await visible(page, '#auth', 'signed out');
		await hidden(page, '#app', 'signed out');
		await shot(page, '01-signed-out');
		step('a. sign-in screen');

		// b. Sign up.
		await signUp(page, chatUser);
		chatUserExists = true;
		await waitFn(page, `#user-name to show "${chatUser.display}"`,
		    (want) => document.querySelector('#user-name')?.textContent.trim() === want,
		    chatUser.display);
		await visible(page, '#input', 'the composer');
		await shot(page, '02-signed-up');
		step('b. signed up');

		// c. Ask; record the length of the newest answer's text
		// at every change of #messages, to see it grow.
		await page.evaluate(() => {
			const box = document.querySelector('#messages');
			window.quipuRenders = [];
			window.quipuStreamingSeen = false;
			new MutationObserver(() => {
				const all = box.querySelectorAll('.msg.assistant');
				const last = all[all.length - 1];
				if (!last)
					return;
				if (last.classList.contains('streaming'))
					window.quipuStreamingSeen = true;
				const txt = last.querySelector('.msg-text');
				window.quipuRenders.push(txt ? txt.textContent.length : 0);
			}).observe(box, { childList: true, subtree: true,
			    characterData: true, attributes: true });
		});
		await page.fill('#input', PROMPT);
		await page.press('#input', 'Enter');
		await waitFn(page, 'the user message to appear', (want) =>
		    [...document.querySelectorAll('#messages .msg.user .msg-text')]
		    .some((e) => e.textContent.trim() === want), PROMPT);
		await waitFn(page, 'a finished answer (.msg.assistant without .streaming) and a .widget',
		    () => {
			const all = document.querySelectorAll('#messages .msg.assistant');
			const last = all[all.length - 1];
			return last !== undefined && !last.classList.contains('streaming') &&
			    document.querySelector('#messages .widget') !== null;
		});
		const answer = await page.evaluate(() => {
			const all = document.querySelectorAll('#messages .msg.assistant .msg-text');
			return all[all.length - 1].textContent.trim();
		});
		const renders = await page.evaluate(() => window.quipuRenders);
		const streamingSeen = await page.evaluate(() => window.quipuStreamingSeen);
		const finalLength = renders.length ? renders[renders.length - 1] : 0;
		const partial = new Set(renders.filter((n) => n > 0 && n < finalLength));
		t.diagnostic(`answer: ${JSON.stringify(answer)}`);
		t.diagnostic(`renders (text lengths): ${renders.join(' ')}`);
		assert.match(answer, /buy milk/i, 'the answer names the task');
		assert.ok(streamingSeen, 'the answer had class "streaming" while it streamed');
		assert.ok(partial.size >= 3,
		    `the answer renders progressively: ${partial.size} partial lengths ` +
		    `before the final ${finalLength} (want at least 3)`);
		assert.equal(await page.locator('#messages .msg.assistant.incomplete').count(), 0,
		    'the answer is not marked incomplete');
		await shot(page, '03-answered');
		step('c. streamed answer');

		// d. The task is in the panel, open.
		await waitFn(page, 'an open li.task "buy milk" in #task-list', () =>
		    [...document.querySelectorAll('#task-list li.task')].some((li) =>
			/buy milk/i.test(li.querySelector('.task-title')?.textContent ?? '') &&
			!li.classList.contains('done')));
		await waitFn(page, '#task-count to say "1 open"', () =>
		    /\b1 open\b/.test(document.querySelector('#task-count')?.textContent ?? ''));
		await shot(page, '04-task-in-panel');
		step('d. task in the panel');

		// e. Done, from the widget.
		const doneButton = page.locator('#messages .widget button.w-button',
		    { hasText: /^\s*Done\s*$/ });
		assert.equal(await doneButton.count(), 1, 'the widget has one "Done" button');
		await doneButton.click();
		await waitFn(page, 'the widget to show the task done (.w-done or a "Reopen" button)',
		    () => {
			const w = [...document.querySelectorAll('#messages .widget')].pop();
			return w !== undefined && (w.querySelector('.w-done') !== null ||
			    [...w.querySelectorAll('button.w-button')].some((b) =>
				b.textContent.trim() === 'Reopen'));
		});
		// The panel reloads: the task leaves the open ones...
		await waitFn(page, 'the "buy milk" task to leave the open tasks of #task-list', () =>
		    ![...document.querySelectorAll('#task-list li.task')].some((li) =>
			/buy milk/i.test(li.querySelector('.task-title')?.textContent ?? '') &&
			!li.classList.contains('done')));
		// ...and is among all of them, done.
		await page.selectOption('#task-filter', 'all');
		await waitFn(page, 'li.task.done "buy milk" in #task-list (filter: all)', () =>
		    [...document.querySelectorAll('#task-list li.task.done')].some((li) =>
			/buy milk/i.test(li.querySelector('.task-title')?.textContent ?? '')));
		const done = await api(page, 'GET', '/api/v1/tasks?status=completed');
		assert.equal(done.status, 200, 'GET /api/v1/tasks?status=completed');
		assert.ok(done.body.items.some((x) => /buy milk/i.test(x.title) && x.completed),
		    'the API lists "buy milk" as completed');
		await shot(page, '05-task-done');
		step('e. done from the widget');

		// f. A reload shows the same thread again.
		const hash = await page.evaluate(() => location.hash);
		const m = /^#\/t\/(thr_[A-Za-z0-9_-]+)$/.exec(hash);
		assert.ok(m, `the URL names the thread (#/t/thr_...), not ${JSON.stringify(hash)}`);
		const threadId = m[1];
		await page.reload();
		await visible(page, '#app', 'after the reload');
		await waitFn(page, 'the thread to render again: the question, the answer, the widget',
		    (want) => [...document.querySelectorAll('#messages .msg.user .msg-text')]
			.some((e) => e.textContent.trim() === want) &&
		    [...document.querySelectorAll('#messages .msg.assistant .msg-text')]
			.some((e) => /buy milk/i.test(e.textContent)) &&
		    document.querySelector('#messages .widget') !== null, PROMPT);
		assert.equal(await page.evaluate(() => location.hash), hash, 'the reload keeps the URL');
		await waitFn(page, `li.thread.active[data-id="${threadId}"] in #thread-list`,
		    (id) => document.querySelector('#thread-list li.thread.active')
			?.getAttribute('data-id') === id, threadId);
		const widgetDone = await page.evaluate(() => {
			const w = document.querySelector('#messages .widget');
			return w.querySelector('.w-done') !== null ||
			    [...w.querySelectorAll('button.w-button')]
			    .some((b) => b.textContent.trim() === 'Reopen');
		});
		t.diagnostic(`after the reload the widget shows the task ${widgetDone ? 'done' : 'open'}`);
		await shot(page, '06-reloaded');
		step('f. reload');

		// g. Sign out: the page and the API both forget the user.
		await page.click('#signout');
		await visible(page, '#auth', 'after signing out');
		await hidden(page, '#app', 'after signing out');
		const me = await api(page, 'GET', '/api/v1/auth/me');
		assert.equal(me.status, 401, 'GET /api/v1/auth/me after signing out');
		const tasks = await api(page, 'GET', '/api/v1/tasks');
		assert.equal(tasks.status, 401, 'GET /api/v1/tasks after signing out');
		const names = (await context.cookies()).map((c) => c.name);
		assert.ok(!names.includes('quipu_access'), 'no quipu_access cookie is left');
		assert.ok(!names.includes('quipu_refresh'), 'no quipu_refresh cookie is left');
		await shot(page, '07-signed-out');

		await page.reload();
		await visible(page, '#auth', 'a reload after signing out');
		await hidden(page, '#app', 'a reload after signing out');

		await page.goto('about:blank');
		await page.goto(`${BASE}/${hash}`);
		await page.waitForLoadState('networkidle');
		await visible(page, '#auth', "the thread's URL after signing out");
		await hidden(page, '#app', "the thread's URL after signing out");
		assert.equal(await page.locator('#messages .msg').count(), 0,
		    "no message is rendered at the thread's URL");
		assert.ok(!(await page.evaluate(() => document.body.innerText)).includes('buy milk'),
		    'nothing of the thread shows');
		await shot(page, '08-thread-url-signed-out');
		step('g. signed out');
	});
});

test('phone: no sideways scroll, the tasks drawer opens', { timeout: TEST_TIMEOUT }, async (t) => {
	await inPage(t, 'phone', async (page, context, step) => {
		await page.goto(`${BASE}/`);
		if (chatUserExists) {
			await signIn(page, chatUser);
		} else {
			// The chat test failed before signing up.
			await signUp(page, chatUser);
			chatUserExists = true;
		}
		await visible(page, '#input', 'the composer on a phone');
		let w = await widths(page);
		assert.equal(w.inner, PHONE.width,
		    'the layout is as wide as the phone (<meta name="viewport">)');
		assert.ok(w.scroll <= w.inner,
		    `no horizontal scroll: scrollWidth ${w.scroll} > innerWidth ${w.inner}`);
		await shot(page, '10-phone');
		step('signed in on a phone');

		await visible(page, '#toggle-tasks', 'the Tasks button on a narrow window');
		await page.click('#toggle-tasks');
		await waitFn(page, '#toggle-tasks[aria-expanded="true"]', () =>
		    document.querySelector('#toggle-tasks')?.getAttribute('aria-expanded') === 'true');
		await visible(page, '#tasks', 'the tasks drawer');
		await visible(page, '#task-title', 'the new task field in the drawer');
		// Settled inside the window (drawers slide in).
		await waitFn(page, '#tasks to lie inside the window', () => {
			const r = document.querySelector('#tasks').getBoundingClientRect();
			return r.width > 0 && r.left >= -1 && r.right <= window.innerWidth + 1;
		});
		w = await widths(page);
		assert.ok(w.scroll <= w.inner,
		    `no horizontal scroll with the drawer open: ${w.scroll} > ${w.inner}`);
		await shot(page, '11-phone-tasks');
		step('tasks drawer');
	}, { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
});

test('memory: add, edit, forget everything', { timeout: TEST_TIMEOUT }, async (t) => {
	await inPage(t, 'memory', async (page, context, step) => {
		const user = { name: `m${stamp}`, display: `Memory ${stamp}`,
		    password: randomBytes(12).toString('hex') };
		const contents = () => page.evaluate(() =>
		    [...document.querySelectorAll('#memory-list li.memory .memory-content')]
		    .map((e) => e.textContent.trim()));
		await page.goto(`${BASE}/`);
		await signUp(page, user);
		await page.click('#nav-memory');
		await waitFn(page, 'the URL #/memory', () => location.hash === '#/memory');
		await visible(page, '#memory', 'the memory page');
		await hidden(page, '#chat', 'the chat on the memory page');
		await visible(page, '#memory-empty', 'a new user has no memory');
		await shot(page, '20-memory-empty');
		step('memory page');

		await page.fill('#memory-content', 'I live in Paris');
		await page.locator('#memory-add button', { hasText: 'Remember' }).click();
		await waitFn(page, 'li.memory "I live in Paris"', () =>
		    [...document.querySelectorAll('#memory-list li.memory .memory-content')]
		    .some((e) => e.textContent.trim() === 'I live in Paris'));
		await hidden(page, '#memory-empty', 'once there is a memory');
		await shot(page, '21-memory-added');
		step('added');

		// By its id: while it is edited, its text is in the editor.
		const id = await page.locator('#memory-list li.memory',
		    { hasText: 'I live in Paris' }).getAttribute('data-id');
		assert.ok(id, 'li.memory has a data-id');
		const item = page.locator(`#memory-list li.memory[data-id="${id}"]`);
		await item.locator('button.memory-edit').click();
		const editor = item.locator('textarea.memory-editor');
		await editor.waitFor({ state: 'visible' });
		await editor.fill('I live in Berlin');
		await item.locator('button.memory-save').click();
		await waitFn(page, 'the memory to read "I live in Berlin"', () => {
			const all = [...document.querySelectorAll(
			    '#memory-list li.memory .memory-content')]
			    .map((e) => e.textContent.trim());
			return all.includes('I live in Berlin') && !all.includes('I live in Paris');
		});
		assert.deepEqual(await contents(), ['I live in Berlin'], 'one memory, edited');
		// Nothing else on the page (the summary above the list)
		// still says the old fact.
		try {
			await waitFn(page, 'no "Paris" left on the memory page', () =>
			    !document.querySelector('#memory').innerText.includes('Paris'));
		} catch (e) {
			const lines = (await page.evaluate(() =>
			    document.querySelector('#memory').innerText))
			    .split('\n').filter((l) => l.includes('Paris'));
			throw new Error(`${e.message}; still shown: ${JSON.stringify(lines)}`);
		}
		const list = await api(page, 'GET', '/api/v1/memories');
		assert.equal(list.status, 200, 'GET /api/v1/memories');
		assert.deepEqual(list.body.items.map((x) => x.content), ['I live in Berlin'],
		    'the API has the edited memory');
		await shot(page, '22-memory-edited');
		step('edited');

		await page.click('#memory-delete-all');
		await visible(page, 'dialog#confirm', 'the confirm dialog');
		await page.click('#confirm-ok');
		await hidden(page, 'dialog#confirm', 'the dialog after OK');
		await visible(page, '#memory-empty', 'after forgetting everything');
		assert.deepEqual(await contents(), [], 'no li.memory is left');
		const none = await api(page, 'GET', '/api/v1/memories');
		assert.equal(none.status, 200, 'GET /api/v1/memories');
		assert.equal(none.body.total, 0, 'the API has no memory left');
		await shot(page, '23-memory-forgotten');
		step('forgot everything');
	});
});
