// app.js: the page's start, its routes and its frame.
//
// Routes live in the URL's hash, so a reload or a bookmark comes back to
// the same place: #/ a new chat, #/t/<thread id> a conversation, #/memory
// the memory page. The session is the HttpOnly cookie pair; the page asks
// GET /api/v1/auth/me to learn whether it is signed in.

import * as account from "./account.js";
import * as api from "./api.js";
import * as auth from "./auth.js";
import * as chat from "./chat.js";
import { $, toast } from "./dom.js";
import * as memory from "./memory.js";
import * as tasks from "./tasks.js";
import * as threads from "./threads.js";

let user = null;

// The pages beside the chat, by route.
const PAGES = {
	"#/memory": { section: "#memory", title: "Memory", module: memory },
	"#/account": { section: "#account", title: "Account", module: account },
};

function start() {
	auth.init(enter);
	chat.init({
		threadCreated(thread) {
			history.replaceState(null, "", `#/t/${encodeURIComponent(thread.id)}`);
			threads.added(thread);
		},
		threadUpdated(thread) {
			threads.renamed(thread);
		},
		turnDone(stopped) {
			tasks.refresh();
			threads.refresh();
			// A stopped first turn is named when quipu winds it up.
			if (stopped)
				setTimeout(threads.refresh, 1500);
		},
		notFound() {
			toast("That conversation does not exist any more");
			location.hash = "#/";
		},
	});
	threads.init({
		opened: closeDrawers,
		deleted(id) {
			if (chat.currentThread() === id)
				location.hash = "#/";
		},
	});
	tasks.init();
	memory.init();
	account.init((u) => { $("#user-name").textContent = u.display_name || u.username; });
	api.onSignedOut(() => {
		if (user !== null)
			leave("Your session has ended. Sign in again.");
	});
	$("#signout").addEventListener("click", signOut);
	$("#account-signout").addEventListener("click", signOut);
	$("#new-chat").addEventListener("click", () => {
		closeDrawers();
		if (location.hash === "#/" || location.hash === "")
			chat.newChat();
		else
			location.hash = "#/";
	});
	drawer("#toggle-threads", "#threads");
	drawer("#toggle-tasks", "#tasks");
	$("#backdrop").addEventListener("click", closeDrawers);
	document.addEventListener("keydown", (e) => {
		if (e.key === "Escape")
			closeDrawers();
	});
	window.addEventListener("hashchange", route);
	// What changed in another tab or by the API shows when coming back.
	document.addEventListener("visibilitychange", () => {
		if (!document.hidden && user !== null) {
			tasks.refresh();
			threads.refresh();
		}
	});
	whoAmI();
}

async function whoAmI() {
	try {
		enter(await api.get("/api/v1/auth/me"));
	} catch (err) {
		auth.show(err.status === 401 ? "" : chat.describe(err));
	}
}

function enter(u) {
	user = u;
	$("#auth").hidden = true;
	$("#app").hidden = false;
	$("#user-name").textContent = u.display_name || u.username;
	route();
	threads.refresh();
	tasks.refresh();
}

// Signed out, by the button or because the session ended: nothing of the
// user stays on the page.
function leave(message) {
	user = null;
	chat.stop();
	chat.newChat();
	for (const sel of ["#thread-list", "#task-list", "#memory-list",
	    "#session-list"])
		$(sel).replaceChildren();
	for (const sel of ["#memory-summary", "#account-username", "#user-name",
	    "#task-count"])
		$(sel).textContent = "";
	$("#account-display").value = "";
	$("#input").value = "";
	$("#input").style.height = "";
	$("#chat-error").hidden = true;
	history.replaceState(null, "", "#/");
	auth.show(message);
}

async function signOut() {
	chat.stop();
	try {
		await api.post("/api/v1/auth/logout");
	} catch (err) {
		// The cookies may be stale already; the screen signs out anyway.
		if (err.status === 0) {
			toast("quipu cannot be reached; you are not signed out");
			return;
		}
	}
	leave("You are signed out.");
}

function route() {
	if (user === null)
		return;
	const hash = location.hash || "#/";
	const page = PAGES[hash] || null;
	$("#chat").hidden = page !== null;
	for (const p of Object.values(PAGES))
		$(p.section).hidden = p !== page;
	current("#nav-chat", page === null);
	current("#nav-memory", hash === "#/memory");
	current("#nav-account", hash === "#/account");
	closeDrawers();
	if (page !== null) {
		chat.stop();
		threads.setActive(null);
		document.title = `${page.title} · quipu`;
		page.module.refresh();
		return;
	}
	document.title = "quipu";
	const m = /^#\/t\/([^/]+)$/.exec(hash);
	if (m) {
		const id = decodeURIComponent(m[1]);
		threads.setActive(id);
		chat.open(id);
		return;
	}
	threads.setActive(null);
	if (chat.currentThread() !== null || $("#messages").childElementCount > 0)
		chat.newChat();
	else
		$("#chat-empty").hidden = false;
}

function current(sel, on) {
	if (on)
		$(sel).setAttribute("aria-current", "page");
	else
		$(sel).removeAttribute("aria-current");
}

// The side panels become drawers on narrow windows.
function drawer(buttonSel, panelSel) {
	$(buttonSel).addEventListener("click", () => {
		const open = !$(panelSel).classList.contains("open");
		closeDrawers();
		if (!open)
			return;
		$(panelSel).classList.add("open");
		$(buttonSel).setAttribute("aria-expanded", "true");
		$("#backdrop").hidden = false;
		const first = $(panelSel).querySelector("input, button");
		if (first)
			first.focus();
	});
}

function closeDrawers() {
	for (const [b, p] of [["#toggle-threads", "#threads"], ["#toggle-tasks", "#tasks"]]) {
		$(p).classList.remove("open");
		$(b).setAttribute("aria-expanded", "false");
	}
	$("#backdrop").hidden = true;
}

start();
