// What the browser tests share: the stack to test, Chromium, pages that
// record their errors, bounded waits, screenshots, the API seen from the
// page, and signing up or in through the form. See README.md here.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = (process.env.QUIPU_BROWSER_URL || 'http://127.0.0.1:8181')
    .replace(/\/+$/, '');
export const ARTIFACTS = process.env.QUIPU_BROWSER_ARTIFACTS ||
    path.join(os.tmpdir(), 'quipu-browser-artifacts');
const CHROMIUM = process.env.QUIPU_BROWSER_CHROMIUM || '/usr/bin/chromium';

// Every wait is bounded: a broken page fails in seconds, not at the
// runner's timeout.
export const WAIT = 10000;
export const TEST_TIMEOUT = 180000;
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

// The machine has no network: nothing in the browser may try to reach it.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'];

let browser;

// One Chromium for the test file: launched before its first test, closed
// after its last.
export function useBrowser()
{
	before(async () => {
		await mkdir(ARTIFACTS, { recursive: true });
		browser = await chromium.launch({ executablePath: CHROMIUM,
		    headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
	});
	after(async () => {
		if (browser)
			await browser.close();
	});
}

// A fresh account, so that tests and runs never see each other's data.
// The password is random and never printed.
export function newUser(prefix)
{
	const stamp = `${Date.now()}${randomBytes(2).toString('hex')}`;
	return { name: `${prefix}${stamp}`, display: `${prefix} ${stamp}`,
	    password: randomBytes(12).toString('hex') };
}

// Makes page records the page's uncaught errors and console errors.
export function recordErrors(page)
{
	page.quipuErrors = [];
	page.quipuConsole = [];
	page.on('pageerror', (e) => page.quipuErrors.push(String(e)));
	page.on('console', (m) => {
		if (m.type() === 'error')
			page.quipuConsole.push(m.text());
	});
	return page;
}

// A page in a fresh context (no cookies), which records the page's
// uncaught errors and console errors.
export async function openPage(viewport, extra = {})
{
	const context = await browser.newContext({ viewport, ...extra });
	context.setDefaultTimeout(WAIT);
	const page = recordErrors(await context.newPage());
	return { context, page };
}

export async function shot(page, name)
{
	await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Runs `body'; when it throws, leaves failure-<name>.png and .html first.
export async function guarded(page, name, body)
{
	try {
		await body();
	} catch (e) {
		try {
			await shot(page, `failure-${name}`);
			await writeFile(path.join(ARTIFACTS, `failure-${name}.html`),
			    await page.content());
		} catch {
			// The page may be gone; the first error is the one to see.
		}
		throw e;
	}
}

// Waits for a condition evaluated in the page; `what' says, on timeout,
// what did not happen.
export async function waitFn(page, what, fn, arg, timeout = WAIT)
{
	try {
		await page.waitForFunction(fn, arg, { timeout, polling: 50 });
	} catch (e) {
		throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}` +
		    ` (${e.message.split('\n')[0]})`);
	}
}

async function waitState(page, selector, state, what)
{
	try {
		await page.locator(selector).first().waitFor({ state, timeout: WAIT });
	} catch (e) {
		throw new Error(`timed out after ${WAIT / 1000} s waiting for ${selector}` +
		    ` to be ${state} (${what}) (${e.message.split('\n')[0]})`);
	}
}

export const visible = (page, sel, what) => waitState(page, sel, 'visible', what);
export const hidden = (page, sel, what) => waitState(page, sel, 'hidden', what);

export async function text(page, selector)
{
	return (await page.locator(selector).first().textContent()).trim();
}

// fetch() from inside the page: same origin, the page's cookies (and the
// Origin header a cookie-authenticated POST needs). `body', when given,
// is sent as JSON.
export async function api(page, method, url, body)
{
	return page.evaluate(async ([m, u, b]) => {
		const init = { method: m, credentials: 'same-origin' };
		if (b !== null) {
			init.headers = { 'Content-Type': 'application/json' };
			init.body = JSON.stringify(b);
		}
		const r = await fetch(u, init);
		const t = await r.text();
		let parsed = null;
		try {
			parsed = JSON.parse(t);
		} catch {
			// 204 and error pages have no JSON.
		}
		return { status: r.status, body: parsed };
	}, [method, url, body === undefined ? null : body]);
}

// Runs body(page, context, step) in a fresh page (options: viewport,
// DESKTOP by default, and playwright's context options), leaves the
// failure artifacts named `name', prints the page's console, fails on an
// uncaught error in the page, and closes the page whatever happens.
export async function inPage(t, name, body, { viewport = DESKTOP, ...extra } = {})
{
	const { context, page } = await openPage(viewport, extra);
	try {
		await guarded(page, name, async () => {
			await body(page, context, stepper(t));
			assert.deepEqual(page.quipuErrors, [], 'no uncaught error in the page');
		});
	} finally {
		reportConsole(t, page);
		await context.close();
	}
}

// Logs how long each step took, in the runner's output.
export function stepper(t)
{
	let last = Date.now();
	return (name) => {
		const now = Date.now();
		t.diagnostic(`${name}: ${now - last} ms`);
		last = now;
	};
}

// The page's console errors, less the 401s expected while signed out,
// which are only counted.
export function reportConsole(t, page)
{
	let n401 = 0;
	for (const m of page.quipuConsole) {
		if (/status of 401\b/.test(m))
			n401++;
		else
			t.diagnostic(`console error: ${m.slice(0, 200)}`);
	}
	if (n401 > 0)
		t.diagnostic(`console: ${n401} responses 401 (signed out)`);
}

export async function signUp(page, user)
{
	await visible(page, '#auth', 'the sign-in screen');
	if (!await page.locator('#auth-display').isVisible())
		await page.click('#auth-switch');
	await visible(page, '#auth-display', 'sign-up mode shows the display name field');
	await page.fill('#auth-username', user.name);
	await page.fill('#auth-password', user.password);
	await page.fill('#auth-display', user.display);
	await page.click('#auth-submit');
	await visible(page, '#app', 'the app after signing up');
	await hidden(page, '#auth', 'the sign-in screen after signing up');
}

export async function signIn(page, user)
{
	await visible(page, '#auth', 'the sign-in screen');
	if (await page.locator('#auth-display').isVisible())
		await page.click('#auth-switch');
	await hidden(page, '#auth-display', 'sign-in mode has no display name field');
	await page.fill('#auth-username', user.name);
	await page.fill('#auth-password', user.password);
	await page.click('#auth-submit');
	await visible(page, '#app', 'the app after signing in');
	await hidden(page, '#auth', 'the sign-in screen after signing in');
}

// Does the page scroll sideways?
export async function widths(page)
{
	return page.evaluate(() => ({
		scroll: document.documentElement.scrollWidth,
		inner: window.innerWidth,
	}));
}

// ------------------------------------------------------------ the chat

// The texts of the messages of one kind ('user' or 'assistant'), in order.
export async function msgTexts(page, kind)
{
	return page.evaluate((k) => [...document.querySelectorAll(
	    `#messages .msg.${k} .msg-text`)].map((e) => e.textContent.trim()), kind);
}

// Types `message' in the composer and sends it with Enter.
export async function typeAndSend(page, message)
{
	await page.fill('#input', message);
	await page.press('#input', 'Enter');
}

// Waits for the turn that was just sent to end: the user message is
// stored (it has an id), and the newest answer has finished streaming and
// the composer offers Send again.
export async function waitAnswered(page, message, timeout = WAIT)
{
	await waitFn(page, `the user message ${JSON.stringify(message)} to be stored` +
	    ' (.msg.user[data-id])', (want) =>
	    [...document.querySelectorAll('#messages .msg.user[data-id]')]
	    .some((e) => e.querySelector('.msg-text')?.textContent.trim() === want),
	    message, timeout);
	await waitFn(page, 'a finished answer (the last .msg.assistant without ' +
	    '.streaming) and #send back', () => {
		const all = document.querySelectorAll('#messages .msg.assistant');
		const last = all[all.length - 1];
		return last !== undefined && !last.classList.contains('streaming') &&
		    !document.querySelector('#send').hidden;
	}, undefined, timeout);
}

// Sends `message' and waits for its answer; returns the answer's text.
export async function ask(page, message, timeout = WAIT)
{
	await typeAndSend(page, message);
	await waitAnswered(page, message, timeout);
	const answers = await msgTexts(page, 'assistant');
	return answers[answers.length - 1];
}

// The open thread's id, from the URL (#/t/<id>).
export async function threadId(page)
{
	const hash = await page.evaluate(() => location.hash);
	const m = /^#\/t\/(thr_[A-Za-z0-9_-]+)$/.exec(hash);
	if (!m)
		throw new Error(`the URL names no thread (#/t/thr_...): ${JSON.stringify(hash)}`);
	return m[1];
}

// Every item of a thread through the native API.
export async function apiItems(page, thread)
{
	const r = await api(page, 'GET', `/api/v1/threads/${thread}/messages?limit=100`);
	if (r.status !== 200)
		throw new Error(`GET /api/v1/threads/${thread}/messages answered ${r.status}`);
	return r.body.items;
}
