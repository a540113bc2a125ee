// threads.js: the list of conversations: search, rename, pin, delete.
//
// It reads the native API (GET /api/v1/threads), which searches titles and
// messages and keeps the client's metadata, where `pinned' lives. Pinned
// conversations come first, then the rest by latest activity.

import { del, get, patch, qs } from "./api.js";
import { $, confirmAction, debounce, h, latestLoader, toast } from "./dom.js";
import { icon } from "./icons.js";

const LIST_MAX = 100;

const state = { active: null, query: "", hooks: null };
const load = latestLoader("conversations");

const untitled = (t) => t.title || "New conversation";

// hooks: opened(id) when the user picks one, deleted(id)
export function init(hooks) {
	state.hooks = hooks;
	const search = $("#thread-search");
	const run = debounce(() => {
		state.query = search.value.trim();
		refresh();
	}, 200);
	search.addEventListener("input", run);
}

export function setActive(id) {
	state.active = id;
	for (const li of document.querySelectorAll("#thread-list .thread")) {
		const on = li.dataset.id === id;
		li.classList.toggle("active", on);
		const a = li.querySelector(".thread-open");
		if (on)
			a.setAttribute("aria-current", "page");
		else
			a.removeAttribute("aria-current");
	}
}

export async function refresh() {
	const answers = await load(get(`/api/v1/threads${qs({ q: state.query,
	    limit: LIST_MAX, pinned: "any" })}`));
	if (answers === null)
		return;
	const [page] = answers;
	const items = page.items.slice().sort((a, b) =>
	    Number(pinned(b)) - Number(pinned(a)));
	const list = $("#thread-list");
	list.replaceChildren(...items.map(row));
	$("#thread-empty").textContent = state.query
	    ? "No conversation matches." : "No conversations yet.";
	$("#thread-empty").hidden = items.length > 0;
	setActive(state.active);
}

// A thread that just appeared (the first turn created it), before the
// next refresh brings it from the server.
export function added(thread) {
	if (document.querySelector(`#thread-list [data-id="${CSS.escape(thread.id)}"]`))
		return;
	$("#thread-list").prepend(row({ id: thread.id, title: thread.title || null,
	    metadata: {} }));
	$("#thread-empty").hidden = true;
	setActive(thread.id);
}

export function renamed(thread) {
	const li = document.querySelector(`#thread-list [data-id="${CSS.escape(thread.id)}"]`);
	if (li && thread.title)
		li.replaceWith(row({ ...li._thread, title: thread.title }));
	setActive(state.active);
}

function pinned(t) {
	return Boolean(t.metadata && t.metadata.pinned === true);
}

function row(t) {
	const name = untitled(t);
	const isPinned = pinned(t);
	const li = h("li.thread", { dataset: { id: t.id },
	    class: isPinned ? "pinned" : null },
	    h("a.thread-open", { href: `#/t/${encodeURIComponent(t.id)}`,
		title: name,
		onclick: () => state.hooks.opened(t.id) },
		isPinned ? h("span.pin-mark", null, icon("pin")) : null,
		name),
	    h("span.thread-buttons", null,
		h("button.thread-pin.icon-btn", { type: "button",
		    "aria-label": `${isPinned ? "Unpin" : "Pin"} ${name}`,
		    title: isPinned ? "Unpin" : "Pin",
		    onclick: () => setPinned(t, !isPinned) },
		    icon(isPinned ? "unpin" : "pin")),
		h("button.thread-rename.icon-btn", { type: "button",
		    "aria-label": `Rename ${name}`, title: "Rename",
		    onclick: () => rename(li, t) }, icon("edit")),
		h("button.thread-delete.icon-btn", { type: "button",
		    "aria-label": `Delete ${name}`, title: "Delete",
		    onclick: () => remove(t) }, icon("trash"))));
	li._thread = t;
	return li;
}

async function setPinned(t, on) {
	try {
		await patch(`/api/v1/threads/${encodeURIComponent(t.id)}`,
		    { metadata: { pinned: on ? true : null } });
		toast(on ? "Pinned" : "Unpinned");
	} catch (err) {
		if (err.status !== 401)
			toast(`Not changed: ${err.message}`);
	}
	refresh();
}

function rename(li, t) {
	const link = li.querySelector(".thread-open");
	const input = h("input.thread-title-input", { value: t.title || "",
	    maxlength: 200, "aria-label": "New name" });
	let done = false;
	const finish = async (save) => {
		if (done)
			return;
		done = true;
		const title = input.value.trim();
		if (save && title !== (t.title || "")) {
			try {
				await patch(`/api/v1/threads/${encodeURIComponent(t.id)}`,
				    { title: title || null });
				toast("Renamed");
			} catch (err) {
				if (err.status !== 401)
					toast(`Not renamed: ${err.message}`);
			}
		}
		await refresh();
		const again = document.querySelector(
		    `#thread-list [data-id="${CSS.escape(t.id)}"] .thread-rename`);
		if (again)
			again.focus();
	};
	input.addEventListener("keydown", (e) => {
		if (e.key === "Enter") {
			e.preventDefault();
			finish(true);
		} else if (e.key === "Escape") {
			e.preventDefault();
			e.stopPropagation();
			finish(false);
		}
	});
	input.addEventListener("blur", () => finish(true));
	link.replaceWith(input);
	input.focus();
	input.select();
}

async function remove(t) {
	if (!await confirmAction(`Delete “${untitled(t)}”? Its messages are ` +
	    "deleted too. What quipu remembers about you stays.", "Delete"))
		return;
	try {
		await del(`/api/v1/threads/${encodeURIComponent(t.id)}`);
		toast("Conversation deleted");
		state.hooks.deleted(t.id);
	} catch (err) {
		if (err.status !== 401)
			toast(`Not deleted: ${err.message}`);
	}
	refresh();
}
