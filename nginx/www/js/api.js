// api.js: requests to quipu, with its cookies.
//
// The access cookie lives 15 minutes; the refresh cookie 30 days. A request
// answered 401 gets one refresh and one more try. quipu spends a refresh
// token on use and treats a second use as theft (the whole session ends),
// so tabs must never refresh at the same time: the refresh runs under a Web
// Lock shared by every tab of this origin, and a tab that waited for the
// lock first checks whether another tab already refreshed.

export class ApiError extends Error {
	constructor(status, body, retryAfter) {
		const e = (body && body.error) || {};
		super(e.message || `the server answered ${status}`);
		this.status = status;
		this.code = e.code || "";
		this.details = e.details || null;
		this.requestId = e.request_id || "";
		this.retryAfter = retryAfter;
	}
}

// Set by app.js: what to do when the session is over.
let signedOutHandler = () => {};
export function onSignedOut(f) {
	signedOutHandler = f;
}

const AUTH_FREE = /^\/api\/v1\/auth\/(login|register|refresh|logout)$/;

async function rawFetch(path, opts) {
	const init = {
		method: opts.method || "GET",
		credentials: "same-origin",
		headers: { Accept: opts.accept || "application/json" },
		signal: opts.signal,
	};
	if (opts.body !== undefined) {
		init.headers["Content-Type"] = "application/json";
		init.body = JSON.stringify(opts.body);
	}
	try {
		return await fetch(path, init);
	} catch (err) {
		if (err.name === "AbortError")
			throw err;
		throw new ApiError(0, { error: { code: "network",
		    message: "quipu cannot be reached; check the connection" } });
	}
}

async function errorOf(res) {
	let body = null;
	try {
		body = await res.json();
	} catch {
		body = null;
	}
	const ra = Number(res.headers.get("Retry-After"));
	return new ApiError(res.status, body, Number.isFinite(ra) ? ra : null);
}

let refreshing = null;

// One refresh at a time in this tab, and under the lock across tabs.
function refresh() {
	if (refreshing)
		return refreshing;
	const run = async () => {
		const me = await rawFetch("/api/v1/auth/me", {});
		if (me.ok)
			return true;	/* another tab refreshed meanwhile */
		const res = await rawFetch("/api/v1/auth/refresh", { method: "POST" });
		return res.ok;
	};
	const locked = navigator.locks
	    ? navigator.locks.request("quipu-refresh", run)
	    : run();
	refreshing = locked.finally(() => { refreshing = null; });
	return refreshing;
}

// Returns the Response of a successful request (2xx); throws ApiError.
// A 401 refreshes once; when that fails the session is over.
export async function request(path, opts = {}) {
	let res = await rawFetch(path, opts);
	if (res.status === 401 && !AUTH_FREE.test(path)) {
		let ok = false;
		try {
			ok = await refresh();
		} catch {
			ok = false;
		}
		if (ok)
			res = await rawFetch(path, opts);
		if (res.status === 401) {
			const err = await errorOf(res);
			signedOutHandler(err);
			throw err;
		}
	}
	if (!res.ok)
		throw await errorOf(res);
	return res;
}

// JSON in, JSON out; null for 204.
export async function json(path, opts = {}) {
	const res = await request(path, opts);
	if (res.status === 204)
		return null;
	return res.json();
}

export const get = (path, opts) => json(path, opts);
export const post = (path, body, opts) => json(path, { ...opts, method: "POST", body });
export const patch = (path, body) => json(path, { method: "PATCH", body });
export const del = (path) => json(path, { method: "DELETE" });

// Query strings without empty values.
export function qs(params) {
	const u = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v !== undefined && v !== null && v !== "")
			u.set(k, String(v));
	const s = u.toString();
	return s ? `?${s}` : "";
}
