// memory.js: the memory page: what quipu remembers about the user, with
// its summary, search, add, edit, forget and forget-everything.

import { del, get, patch, post, qs } from "./api.js";
import { $, confirmAction, debounce, formatDate, h, latestLoader, toast } from "./dom.js";

const state = { query: "" };
const load = latestLoader("memories");

export function init() {
	$("#memory-add").addEventListener("submit", add);
	$("#memory-content").addEventListener("keydown", (e) => {
		if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
			e.preventDefault();
			$("#memory-add").requestSubmit();
		}
	});
	const search = $("#memory-search");
	search.addEventListener("input", debounce(() => {
		state.query = search.value.trim();
		refresh();
	}, 200));
	$("#memory-delete-all").addEventListener("click", removeAll);
}

export async function refresh() {
	const answers = await load(
	    get(`/api/v1/memories${qs({ q: state.query, limit: 100 })}`),
	    get("/api/v1/memories/summary"));
	if (answers === null)
		return;
	const [page, summary] = answers;
	$("#memory-summary").textContent = summary.summary;
	$("#memory-summary").hidden = summary.summary === "";
	$("#memory-list").replaceChildren(...page.items.map(row));
	$("#memory-empty").hidden = page.items.length > 0 || state.query !== "";
	$("#memory-count").textContent = state.query
	    ? `${page.total} matching` : page.total === 1
	    ? "1 memory" : `${page.total} memories`;
	$("#memory-delete-all").disabled = summary.count === 0;
}

function row(m) {
	const li = h("li.memory", { dataset: { id: String(m.id) } });
	fill(li, m);
	return li;
}

function fill(li, m) {
	const source = m.source && m.source.thread_id
	    ? h("a", { href: `#/t/${encodeURIComponent(m.source.thread_id)}` },
		"from a conversation")
	    : "added by you";
	li.replaceChildren(
	    h("p.memory-content", null, m.content),
	    h("p.memory-meta.muted.small", null, formatDate(m.updated_at), " · ",
		source),
	    h("div.memory-buttons", null,
		h("button.memory-edit", { type: "button",
		    "aria-label": `Edit ${m.content}`,
		    onclick: () => edit(li, m) }, "Edit"),
		h("button.memory-delete", { type: "button",
		    "aria-label": `Forget ${m.content}`,
		    onclick: () => remove(m) }, "Forget")));
}

async function add(e) {
	e.preventDefault();
	const box = $("#memory-content");
	const content = box.value.trim();
	if (content === "")
		return;
	try {
		const r = await post("/api/v1/memories", { content });
		box.value = "";
		if (r.event === "UPDATE")
			toast(`Updated: “${r.previous.content}” is now “${r.memory.content}”`);
		else if (r.event === "NONE")
			toast("quipu already remembers that");
		else
			toast("Remembered");
	} catch (err) {
		if (err.status !== 401)
			toast(`Not saved: ${err.details ? Object.values(err.details).join(", ")
			    : err.message}`);
	}
	refresh();
}

function edit(li, m) {
	const editor = h("textarea.memory-editor", { rows: 2, maxlength: 1000,
	    "aria-label": "Memory" });
	editor.value = m.content;
	const save = async () => {
		const content = editor.value.trim();
		if (content === "" || content === m.content) {
			fill(li, m);
			return;
		}
		try {
			const updated = await patch(`/api/v1/memories/${m.id}`, { content });
			fill(li, updated);
			toast("Saved");
			refresh();	/* the summary too */
		} catch (err) {
			if (err.status !== 401)
				toast(`Not saved: ${err.details
				    ? Object.values(err.details).join(", ") : err.message}`);
			return;
		}
		li.querySelector(".memory-edit").focus();
	};
	editor.addEventListener("keydown", (e) => {
		if (e.key === "Enter" && !e.shiftKey) {
			e.preventDefault();
			save();
		} else if (e.key === "Escape") {
			fill(li, m);
			li.querySelector(".memory-edit").focus();
		}
	});
	li.replaceChildren(editor, h("div.memory-buttons", null,
	    h("button.memory-save.primary", { type: "button", onclick: save }, "Save"),
	    h("button.memory-cancel", { type: "button",
		onclick: () => fill(li, m) }, "Cancel")));
	editor.focus();
}

async function remove(m) {
	try {
		await del(`/api/v1/memories/${m.id}`);
		toast("Forgotten");
	} catch (err) {
		if (err.status !== 401)
			toast(`Not forgotten: ${err.message}`);
	}
	refresh();
}

async function removeAll() {
	if (!await confirmAction("Forget everything quipu remembers about you? " +
	    "This cannot be undone.", "Forget everything"))
		return;
	try {
		const r = await del("/api/v1/memories?confirm=true");
		toast(r.deleted === 1 ? "1 memory forgotten" : `${r.deleted} memories forgotten`);
	} catch (err) {
		if (err.status !== 401)
			toast(`Not forgotten: ${err.message}`);
	}
	refresh();
}
