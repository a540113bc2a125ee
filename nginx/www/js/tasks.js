// tasks.js: the tasks panel. It shows the user's tasks (open ones by
// default, soonest due first), adds, completes and deletes them, and is
// reloaded after every turn and widget action, so what the assistant did
// shows here at once.

import { del, get, patch, post, qs } from "./api.js";
import { $, formatDue, h, isOverdue, latestLoader, toast } from "./dom.js";

const state = { busy: false };
const load = latestLoader("tasks");

export function init() {
	$("#task-add").addEventListener("submit", add);
	$("#task-filter").addEventListener("change", refresh);
}

export async function refresh() {
	const status = $("#task-filter").value;
	// The count of open tasks is the page's total when it shows them.
	const answers = await load(
	    get(`/api/v1/tasks${qs({ status, sort: "due_at", order: "asc",
		limit: 100 })}`),
	    status === "pending" ? null : get("/api/v1/tasks?status=pending&limit=1"));
	if (answers === null)
		return;
	const [page, counted] = answers;
	const open = counted || page;
	$("#task-list").replaceChildren(...page.items.map(row));
	$("#task-empty").hidden = page.items.length > 0;
	$("#task-empty").textContent = status === "pending"
	    ? "Nothing to do. Add a task, or ask quipu." : "Nothing here.";
	$("#task-count").textContent = `${open.total} open`;
	const more = page.total - page.items.length;
	if (more > 0)
		$("#task-list").append(h("li.muted.small", null,
		    `and ${more} more: ask quipu, or use the API`));
}

function row(t) {
	const id = `task-${t.id}`;
	const due = formatDue(t.due_at);
	const li = h("li.task", { dataset: { id: String(t.id) },
	    class: t.completed ? "done" : null },
	    h("input.task-done", { type: "checkbox", id, checked: t.completed,
		onchange: (e) => complete(t, e.currentTarget.checked) }),
	    h("label.task-main", { for: id },
		h("span.task-title", null, t.title),
		due || t.priority !== "none" ? h("span.task-meta", null,
		    due ? h("span.task-due", { class: !t.completed &&
			isOverdue(t.due_at) ? "overdue" : null }, due) : null,
		    t.priority !== "none" ? h(`span.task-priority.p-${t.priority}`,
			null, t.priority) : null) : null),
	    h("button.task-delete.icon-btn", { type: "button",
		"aria-label": `Delete ${t.title}`, title: "Delete",
		onclick: () => remove(t) }, "\u00D7"));
	return li;
}

async function add(e) {
	e.preventDefault();
	const input = $("#task-title");
	const title = input.value.trim();
	if (title === "" || state.busy)
		return;
	state.busy = true;
	try {
		await post("/api/v1/tasks", { title });
		input.value = "";
		toast(`Added “${title}”`);
	} catch (err) {
		if (err.status !== 401)
			toast(`Not added: ${err.details ? Object.values(err.details).join(", ")
			    : err.message}`);
	} finally {
		state.busy = false;
	}
	await refresh();
	input.focus();
}

async function complete(t, done) {
	try {
		await patch(`/api/v1/tasks/${t.id}/complete`, { completed: done });
		toast(done ? `Done: ${t.title}` : `Reopened: ${t.title}`);
	} catch (err) {
		if (err.status !== 401)
			toast(`Not changed: ${err.message}`);
	}
	refresh();
}

async function remove(t) {
	try {
		await del(`/api/v1/tasks/${t.id}`);
		toast(`Deleted “${t.title}”`);
	} catch (err) {
		if (err.status !== 401)
			toast(`Not deleted: ${err.message}`);
	}
	refresh();
}
