// account.js: the account page: display name, password, and the devices
// signed in (each can be signed out from here).

import { ApiError, del, get, patch } from "./api.js";
import { $, formatDate, h, latestLoader, toast } from "./dom.js";

const load = latestLoader("account");
let renamed = () => {};

// onRenamed(user) runs after the display name changed.
export function init(onRenamed) {
	renamed = onRenamed;
	$("#account-profile").addEventListener("submit", saveProfile);
	$("#account-password").addEventListener("submit", savePassword);
}

export async function refresh() {
	const answers = await load(get("/api/v1/auth/me"),
	    get("/api/v1/auth/sessions"));
	if (answers === null)
		return;
	const [me, sessions] = answers;
	$("#account-username").textContent = me.username;
	$("#account-password-user").value = me.username;
	$("#account-display").value = me.display_name || "";
	$("#session-list").replaceChildren(...sessions.items.map(row));
}

function row(s) {
	return h("li.session", { dataset: { id: s.id } },
	    h("div.session-main", null,
		h("span.session-agent", null, browserName(s.user_agent)),
		s.current ? h("span.session-current", null, "this browser") : null,
		h("span.muted.small", null, `signed in ${formatDate(s.created_at)}` +
		    (s.last_used_at ? `, last active ${formatDate(s.last_used_at)}` : ""))),
	    s.current ? null : h("button.session-revoke", { type: "button",
		"aria-label": `Sign out ${browserName(s.user_agent)}, signed in ` +
		    formatDate(s.created_at),
		onclick: () => revoke(s) }, "Sign out"));
}

// A readable name for a User-Agent string: enough to tell devices apart.
function browserName(ua) {
	if (!ua)
		return "Unknown device";
	const names = [[/Edg\//, "Edge"], [/Firefox\//, "Firefox"],
	    [/Chrom(e|ium)\//, "Chrome"], [/Safari\//, "Safari"], [/curl\//, "curl"]];
	const systems = [[/Android/, "Android"], [/iPhone|iPad/, "iOS"],
	    [/Windows/, "Windows"], [/Mac OS X/, "macOS"], [/Linux/, "Linux"]];
	const name = (names.find(([re]) => re.test(ua)) || [null, "A browser"])[1];
	const os = (systems.find(([re]) => re.test(ua)) || [null, ""])[1];
	return os ? `${name} on ${os}` : name;
}

async function revoke(s) {
	try {
		await del(`/api/v1/auth/sessions/${encodeURIComponent(s.id)}`);
		toast("That device is signed out");
	} catch (err) {
		if (err.status !== 401)
			toast(`Not signed out: ${err.message}`);
	}
	refresh();
}

async function saveProfile(e) {
	e.preventDefault();
	const name = $("#account-display").value.trim();
	try {
		const me = await patch("/api/v1/auth/me", { display_name: name || null });
		renamed(me);
		toast("Saved");
	} catch (err) {
		if (err.status !== 401)
			toast(`Not saved: ${fieldErrors(err)}`);
	}
}

async function savePassword(e) {
	e.preventDefault();
	const current = $("#account-current").value;
	const next = $("#account-new").value;
	const out = $("#account-password-error");
	out.hidden = true;
	try {
		await patch("/api/v1/auth/me", { password: next,
		    current_password: current });
		$("#account-current").value = "";
		$("#account-new").value = "";
		toast("Password changed; your other devices are signed out");
		refresh();
	} catch (err) {
		if (err.status === 401)
			return;
		out.textContent = fieldErrors(err);
		out.hidden = false;
	}
}

function fieldErrors(err) {
	if (!(err instanceof ApiError) || !err.details)
		return err.message;
	const names = { password: "The new password", current_password:
	    "The current password", display_name: "The name" };
	return Object.entries(err.details)
	    .map(([k, v]) => `${names[k] || k} ${v}.`).join(" ");
}
