// The account page (#/account): the display name, the password, and the
// devices signed in, each of which can be signed out from here. Run by
// `./dev test browser' like the others.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
	BASE, DESKTOP, TEST_TIMEOUT, api, guarded, hidden, newUser, openPage,
	reportConsole, shot, signIn, signUp, stepper, useBrowser, visible, waitFn,
} from './lib.mjs';

useBrowser();

test('account: rename, a wrong then a right password change, other devices signed out',
    { timeout: TEST_TIMEOUT }, async (t) => {
	const user = newUser('ac');
	const a = await openPage(DESKTOP);
	const b = await openPage(DESKTOP);
	const step = stepper(t);
	try {
		await guarded(a.page, 'account', async () => {
			await a.page.goto(`${BASE}/`);
			await signUp(a.page, user);
			// A second device: another context, its own cookies.
			await b.page.goto(`${BASE}/`);
			await signIn(b.page, user);
			step('two devices signed in');

			await a.page.click('#user-name');
			await visible(a.page, '#account', 'the account page');
			await waitFn(a.page, 'two sessions listed', () =>
			    document.querySelectorAll('#session-list li.session').length === 2);
			assert.equal(await a.page.locator('#session-list .session-current').count(), 1,
			    'one session is marked as this browser');
			assert.equal(await a.page.locator('#session-list .session-revoke').count(), 1,
			    'only the other device can be signed out from here');

			// The display name.
			await a.page.fill('#account-display', 'Grace Hopper');
			await a.page.click('#account-profile button[type=submit]');
			await waitFn(a.page, 'the header to show the new name', () =>
			    document.querySelector('#user-name').textContent === 'Grace Hopper');
			const me = await api(a.page, 'GET', '/api/v1/auth/me');
			assert.equal(me.body.display_name, 'Grace Hopper', 'the API has the new name');
			await shot(a.page, 'account-01-renamed');
			step('renamed');

			// A wrong current password: refused, said, nothing changes.
			await a.page.fill('#account-current', 'not the password');
			await a.page.fill('#account-new', 'a brand new password');
			await a.page.click('#account-password button[type=submit]');
			await visible(a.page, '#account-password-error', 'the refusal');
			assert.match(await a.page.textContent('#account-password-error'),
			    /current password is incorrect/i);
			assert.equal((await api(b.page, 'GET', '/api/v1/auth/me')).status, 200,
			    'the other device is still signed in');
			await shot(a.page, 'account-02-wrong-password');
			step('wrong password refused');

			// The right one: changed, the other device is signed out.
			await a.page.fill('#account-current', user.password);
			await a.page.fill('#account-new', 'a brand new password');
			await a.page.click('#account-password button[type=submit]');
			await hidden(a.page, '#account-password-error', 'no error');
			await waitFn(a.page, 'one session left', () =>
			    document.querySelectorAll('#session-list li.session').length === 1);
			const login = await api(a.page, 'POST', '/api/v1/auth/login',
			    { username: user.name, password: 'a brand new password' });
			assert.equal(login.status, 200, 'the new password signs in');
			// The other device's refresh token is revoked: its next
			// refresh fails, and the page signs it out.
			const refresh = await api(b.page, 'POST', '/api/v1/auth/refresh');
			assert.equal(refresh.status, 401, 'the other device cannot refresh');
			await b.page.reload();
			await visible(b.page, '#auth', 'the other device is back at sign-in');
			await shot(a.page, 'account-03-password-changed');
			step('password changed');
			assert.deepEqual(a.page.quipuErrors, [], 'no uncaught error in the page');
		});
	} finally {
		reportConsole(t, a.page);
		await a.context.close();
		await b.context.close();
	}
});
