// chat.js: the conversation: its items, the composer, streaming, stop,
// retry, feedback and the task widgets' buttons.
//
// Every turn goes through ChatKit (POST /api/chatkit): the answer arrives
// as text deltas and is rendered as each arrives. Stop aborts the request;
// quipu keeps what was written so far (status incomplete), and so does the
// page. Feedback uses the native route, which can also take a thumb back.

import { ApiError, get, post, qs } from "./api.js";
import * as ck from "./chatkit.js";
import { $, formatWait, h, toast } from "./dom.js";
import { icon } from "./icons.js";
import { render as markdown } from "./markdown.js";
import * as widgets from "./widgets.js";

const MESSAGE_MAX = 5000;
const PAGE_MAX = 20;	/* pages of 100 items read when a thread opens */
const BUSY_TRIES = 5;	/* a busy thread (409) is asked again ... */
const BUSY_WAIT = 500;	/* ... this many ms apart */
const STOP_SETTLE = 1500;	/* ms for quipu to store a stopped answer */

const state = {
	threadId: null,
	stream: null,		/* the turn running: see turn() */
	loadSeq: 0,
	hooks: null,
};

const messages = () => $("#messages");

// hooks: threadCreated(thread), threadUpdated(thread), turnDone(stopped),
// notFound()
export function init(hooks) {
	state.hooks = hooks;
	const input = $("#input");
	$("#composer").addEventListener("submit", (e) => {
		e.preventDefault();
		send(input.value);
	});
	input.addEventListener("keydown", (e) => {
		if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
			e.preventDefault();
			send(input.value);
		}
	});
	input.addEventListener("input", autosize);
	document.addEventListener("keydown", (e) => {
		if (e.key === "Escape" && state.stream && !$("#confirm").open)
			stop();
	});
	$("#stop").addEventListener("click", stop);
	$("#chat-error-close").addEventListener("click", hideError);
	for (const b of document.querySelectorAll(".example"))
		b.addEventListener("click", () => send(b.textContent));
}

export function currentThread() {
	return state.threadId;
}

// An empty conversation; the first message creates the thread.
export function newChat() {
	stop();
	state.threadId = null;
	state.loadSeq++;
	messages().replaceChildren();
	hideError();
	showEmpty();
	$("#input").focus();
}

// Shows thread `id' with all its items.
export async function open(id) {
	if (id === state.threadId && messages().childElementCount > 0)
		return;
	stop();
	const seq = ++state.loadSeq;
	state.threadId = id;
	hideError();
	messages().replaceChildren(h("p.loading.muted", null, "Loading…"));
	$("#chat-empty").hidden = true;
	let items, thread;
	try {
		[items, thread] = await Promise.all([allItems(id),
		    get(`/api/v1/threads/${encodeURIComponent(id)}?limit=100`)]);
	} catch (err) {
		if (seq !== state.loadSeq || err.status === 401)
			return;	/* a 401 has signed the page out */
		messages().replaceChildren();
		if (err instanceof ApiError && err.status === 404) {
			state.threadId = null;
			state.hooks.notFound();
			return;
		}
		showError(describe(err), () => { state.threadId = null; open(id); });
		return;
	}
	if (seq !== state.loadSeq)
		return;
	// The native items carry what ChatKit's do not: feedback, status and
	// the memories used.
	const native = new Map((thread.items || []).map((m) => [m.id, m]));
	messages().replaceChildren();
	for (const item of items)
		addItem(item, native.get(item.id));
	markLastAnswer();
	showEmpty();
	scrollDown(true);
}

async function allItems(id) {
	const all = [];
	let after;
	for (let i = 0; i < PAGE_MAX; i++) {
		const page = await ck.call("items.list", { thread_id: id, order: "asc",
		    limit: 100, after });
		all.push(...page.data);
		if (!page.has_more || page.data.length === 0)
			break;
		after = page.data[page.data.length - 1].id;
	}
	return all;
}

// ------------------------------------------------------------ rendering

function addItem(item, native) {
	let el = null;
	if (item.type === "user_message")
		el = userEl(item.id, ck.itemText(item));
	else if (item.type === "assistant_message") {
		el = answerEl(item.id);
		setText(el, ck.itemText(item));
		finishAnswer(el, native ? native.status : "completed");
		if (native && native.feedback)
			setFeedback(el, native.feedback);
		if (native)
			memoriesNote(el, native.memories_used);
	} else if (item.type === "widget")
		el = widgetEl(item);
	if (el)
		messages().append(el);
	return el;
}

function userEl(id, text) {
	return h("div.msg.user", { dataset: id ? { id } : {} },
	    h("span.sr-only", null, "You said:"),
	    h("div.msg-text", null, text));
}

function answerEl(id) {
	return h("div.msg.assistant", { dataset: { id } },
	    h("span.sr-only", null, "quipu said:"),
	    h("div.msg-text"),
	    h("p.msg-note", { hidden: true }),
	    h("div.msg-actions", { hidden: true },
		h("button.copy", { type: "button", "aria-label": "Copy the answer",
		    title: "Copy", onclick: copyAnswer }, icon("copy")),
		h("button.thumb-up", { type: "button", "aria-label": "Good answer",
		    "aria-pressed": "false", title: "Good answer",
		    onclick: (e) => feedback(e, "positive") }, icon("up")),
		h("button.thumb-down", { type: "button", "aria-label": "Bad answer",
		    "aria-pressed": "false", title: "Bad answer",
		    onclick: (e) => feedback(e, "negative") }, icon("down")),
		h("button.retry", { type: "button", hidden: true,
		    onclick: (e) => retry(e.currentTarget.closest(".msg")) },
		    icon("retry"), "Retry")));
}

// What quipu remembered for this answer, folded under it.
function memoriesNote(el, list) {
	if (!Array.isArray(list) || list.length === 0 ||
	    el.querySelector(".msg-memories"))
		return;
	el.querySelector(".msg-actions").before(h("details.msg-memories", null,
	    h("summary", null, list.length === 1 ? "Remembered 1 thing"
		: `Remembered ${list.length} things`),
	    h("ul", null, list.map((m) => h("li", null, m.content)))));
}

// ChatKit has no frame for the memories a turn used; the native API
// keeps them on the answer. Read once the answer is stored.
async function usedMemories(answer) {
	const user = userBefore(answer);
	const thread = state.threadId;
	if (!user || !user.dataset.id || !thread)
		return;
	try {
		const page = await get(`/api/v1/threads/${encodeURIComponent(thread)}` +
		    `/messages${qs({ after: user.dataset.id, limit: 5 })}`);
		const m = page.items.find((i) => i.id === answer.dataset.id);
		if (m && answer.isConnected)
			memoriesNote(answer, m.memories_used);
	} catch {
		/* a reload shows them */
	}
}

function setText(el, text) {
	el.dataset.text = text;
	el.querySelector(".msg-text").replaceChildren(markdown(text));
}

// status: completed, incomplete (stopped, cut off) or error.
function finishAnswer(el, status) {
	el.classList.remove("streaming");
	el.removeAttribute("aria-busy");
	const note = el.querySelector(".msg-note");
	if (status === "incomplete" || status === "error") {
		el.classList.add("incomplete");
		note.textContent = status === "error"
		    ? "The answer stopped: the model failed."
		    : "Stopped. The answer is incomplete.";
		note.hidden = false;
	}
	el.querySelector(".msg-actions").hidden = false;
}

function widgetEl(item) {
	const el = h("div.widget", { dataset: { id: item.id },
	    role: "group", "aria-label": "Tasks" });
	renderWidget(el, item.widget);
	return el;
}

function renderWidget(el, widget) {
	el.replaceChildren(widgets.render(widget,
	    (action, button) => customAction(el, action, button)));
	widgets.labelButtons(el);
}

// Only the last answer offers a retry.
function markLastAnswer() {
	const answers = messages().querySelectorAll(".msg.assistant");
	answers.forEach((a, i) => {
		a.querySelector(".retry").hidden = i !== answers.length - 1;
	});
}

function showEmpty() {
	$("#chat-empty").hidden = messages().childElementCount > 0;
}

function scrollDown(force) {
	const m = messages();
	const near = m.scrollHeight - m.scrollTop - m.clientHeight < 120;
	if (force || near)
		m.scrollTop = m.scrollHeight;
}

function autosize() {
	const input = $("#input");
	input.style.height = "auto";
	input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

// ------------------------------------------------------------ turns

function send(raw) {
	const text = raw.trim();
	if (state.stream || text === "")
		return;
	if ([...text].length > MESSAGE_MAX) {
		showError(`A message can be at most ${MESSAGE_MAX} characters.`);
		return;
	}
	const input = $("#input");
	input.value = "";
	autosize();
	const mine = userEl(null, text);
	mine.classList.add("pending");
	messages().append(mine);
	showEmpty();
	scrollDown(true);
	const params = { input: ck.userInput(text) };
	let type = "threads.create";
	if (state.threadId) {
		type = "threads.add_user_message";
		params.thread_id = state.threadId;
	}
	turn(type, params, {
		refused: () => {
			// Nothing was stored: the text goes back to the box.
			mine.remove();
			showEmpty();
			if (input.value === "")
				input.value = text;
			autosize();
		},
		retry: () => send(text),
	});
}

// Runs one streamed request and renders its frames. `how' has refused()
// for a request refused before the stream, and retry() for the error bar.
async function turn(type, params, how = {}) {
	hideError();
	const controller = new AbortController();
	// answer: its element while it streams; failed: an error frame came;
	// stopped: aborted by Stop; clientTool: a pending call to answer.
	const s = { controller, answer: null, failed: false, stopped: false,
	    clientTool: null };
	state.stream = s;
	busy(true);
	const seq = state.loadSeq;
	try {
		await streamTurn(type, params, {
			onEvent: (f) => {
				if (seq === state.loadSeq)
					frame(s, f);
			},
			onOpen: (res) => quotaHint(res.headers.get("RateLimit")),
			signal: controller.signal,
		});
		if (s.answer && s.answer.classList.contains("streaming"))
			finishAnswer(s.answer, "incomplete");
	} catch (err) {
		if (err.name === "AbortError") {
			stopped(s);
		} else if (err instanceof ApiError) {
			// After a 401 the page has signed out: nothing goes back.
			if (err.status !== 401) {
				if (how.refused)
					how.refused();
				showError(describe(err), retriable(err) ? how.retry : null);
			}
		} else {
			// The connection broke mid-stream.
			if (s.answer)
				finishAnswer(s.answer, "incomplete");
			showError("The connection to quipu broke; the answer is incomplete.",
			    () => retryLast());
		}
	} finally {
		if (state.stream === s)
			state.stream = null;
		busy(false);
		markLastAnswer();
		showEmpty();
		if (state.hooks)
			state.hooks.turnDone(s.stopped);
	}
	if (s.clientTool && !s.failed && seq === state.loadSeq)
		answerClientTool(s.clientTool);
}

// A stopped answer takes quipu up to a second to wind up; until then the
// thread is busy (409). A message sent right after Stop waits for it
// rather than failing: a 409 is refused before anything is stored, so
// asking again is safe. A turn that stays busy (another tab's) is reported.
async function streamTurn(type, params, opts) {
	for (let attempt = 1; ; attempt++) {
		try {
			return await ck.stream(type, params, opts);
		} catch (err) {
			if (!(err instanceof ApiError) || err.status !== 409 ||
			    attempt === BUSY_TRIES)
				throw err;
		}
		await new Promise((resolve) => setTimeout(resolve, BUSY_WAIT));
		if (opts.signal.aborted)
			throw new DOMException("stopped", "AbortError");
	}
}

function frame(s, f) {
	switch (f.type) {
	case "thread.created":
		state.threadId = f.thread.id;
		state.hooks.threadCreated(f.thread);
		break;
	case "thread.updated":
		state.hooks.threadUpdated(f.thread);
		break;
	case "thread.item.added":
		if (f.item.type === "assistant_message") {
			s.answer = answerEl(f.item.id);
			s.answer.classList.add("streaming");
			s.answer.setAttribute("aria-busy", "true");
			setText(s.answer, ck.itemText(f.item));
			messages().append(s.answer);
			scrollDown(true);
		}
		break;
	case "thread.item.updated":
		updated(s, f);
		break;
	case "thread.item.done":
		itemDone(s, f.item);
		break;
	case "thread.item.removed": {
		const el = messages().querySelector(`[data-id="${CSS.escape(f.item_id)}"]`);
		if (el)
			el.remove();
		if (s.answer && s.answer.dataset.id === f.item_id)
			s.answer = null;
		break;
	}
	case "error":
		s.failed = true;
		if (s.answer && s.answer.classList.contains("streaming"))
			finishAnswer(s.answer, "error");
		if (f.code === "custom")
			showError(f.message || "That did not work.");
		else
			showError("The assistant could not answer: the model's server " +
			    "failed or is unreachable." + (f.allow_retry ? " Try again." : ""),
			    f.allow_retry ? () => retryLast() : null);
		break;
	default:
		break;	/* stream_options, progress updates */
	}
}

function updated(s, f) {
	const u = f.update || {};
	if (u.type === "widget.root.updated") {
		const el = messages().querySelector(`.widget[data-id="${CSS.escape(f.item_id)}"]`);
		if (el)
			renderWidget(el, u.widget);
		return;
	}
	if (!s.answer || s.answer.dataset.id !== f.item_id)
		return;
	if (u.type === "assistant_message.content_part.text_delta") {
		setText(s.answer, s.answer.dataset.text + (u.delta || ""));
		scrollDown(false);
	} else if (u.type === "assistant_message.content_part.done" && u.content) {
		setText(s.answer, u.content.text || "");
	}
}

function itemDone(s, item) {
	if (item.type === "user_message") {
		const pending = messages().querySelector(".msg.user.pending");
		const el = userEl(item.id, ck.itemText(item));
		if (pending)
			pending.replaceWith(el);
		else
			messages().append(el);
	} else if (item.type === "assistant_message") {
		if (s.answer && s.answer.dataset.id === item.id) {
			setText(s.answer, ck.itemText(item));
			finishAnswer(s.answer, "completed");
			usedMemories(s.answer);
		} else {
			addItem(item);
		}
	} else if (item.type === "widget") {
		messages().append(widgetEl(item));
		scrollDown(true);
	} else if (item.type === "client_tool_call" && item.status === "pending") {
		s.clientTool = item;
	}
}

// quipu reports the day's quota on every turn (RateLimit: "messages";
// r=<left>;t=<seconds>); the page says so when few are left.
function quotaHint(header) {
	const left = /(?:^|;)\s*r=(\d+)/.exec(header || "");
	const hint = $("#quota-hint");
	if (!left || Number(left[1]) > 10) {
		hint.textContent = "";
		return;
	}
	const n = Number(left[1]);
	hint.textContent = n === 0 ? "That was today's last message."
	    : n === 1 ? "1 message left today." : `${n} messages left today.`;
}

function busy(on) {
	$("#send").hidden = on;
	$("#stop").hidden = !on;
	for (const b of messages().querySelectorAll(".w-button, .retry"))
		b.disabled = on;
}

// The stop button: the partial answer stays, marked.
export function stop() {
	if (state.stream)
		state.stream.controller.abort();
}

function stopped(s) {
	const a = s.answer;
	s.stopped = true;
	if (!a)
		return;
	if ((a.dataset.text || "") === "") {
		a.remove();	/* nothing was written; quipu keeps nothing either */
		return;
	}
	finishAnswer(a, "incomplete");
	setTimeout(() => reread(a, state.loadSeq), STOP_SETTLE);
}

// quipu keeps what the model had written when it noticed the stop, which
// can be a word or two more than had reached the page: once it has
// settled, the page shows what is stored, as a reload would.
async function reread(answer, seq) {
	if (seq !== state.loadSeq || !answer.isConnected || !state.threadId)
		return;
	try {
		const page = await ck.call("items.list", { thread_id: state.threadId,
		    order: "desc", limit: 10 });
		const item = page.data.find((i) => i.id === answer.dataset.id);
		if (item && seq === state.loadSeq && answer.isConnected)
			setText(answer, ck.itemText(item));
	} catch {
		/* the text shown stays; a reload shows the stored one */
	}
}

// The user message an answer replies to, or null.
function userBefore(answer) {
	let el = answer.previousElementSibling;
	while (el && !el.classList.contains("user"))
		el = el.previousElementSibling;
	return el;
}

// Answers the last user message again.
function retry(answer) {
	const user = userBefore(answer);
	if (!user || !user.dataset.id || state.stream)
		return;
	retryAfter(user);
}

function retryAfter(user) {
	while (user.nextElementSibling)
		user.nextElementSibling.remove();
	turn("threads.retry_after_item", { thread_id: state.threadId,
	    item_id: user.dataset.id }, { retry: () => retryAfter(user) });
}

function retryLast() {
	const users = messages().querySelectorAll(".msg.user[data-id]");
	const last = users[users.length - 1];
	if (last && state.threadId && !state.stream)
		retryAfter(last);
}

// The one client tool quipu knows: the browser's zone and time.
function answerClientTool(item) {
	if (item.name !== "get_local_time")
		return;
	turn("threads.add_client_tool_output", { thread_id: state.threadId,
	    result: { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
		now: new Date().toString() } });
}

async function customAction(widgetEl, action, button) {
	if (state.stream || !state.threadId)
		return;
	button.classList.add("loading");
	await turn("threads.custom_action", { thread_id: state.threadId,
	    item_id: widgetEl.dataset.id,
	    action: { type: action.type, payload: action.payload || {} } });
	button.classList.remove("loading");
}

async function feedback(e, kind) {
	const b = e.currentTarget;
	const el = b.closest(".msg");
	const next = b.getAttribute("aria-pressed") === "true" ? null : kind;
	try {
		await post(`/api/v1/threads/${encodeURIComponent(state.threadId)}` +
		    `/messages/${encodeURIComponent(el.dataset.id)}/feedback`,
		    { kind: next });
		setFeedback(el, next);
		toast(next === null ? "Feedback removed" : "Thanks for the feedback");
	} catch (err) {
		if (err.status !== 401)
			toast(describe(err));
	}
}

function setFeedback(el, kind) {
	el.querySelector(".thumb-up").setAttribute("aria-pressed",
	    String(kind === "positive"));
	el.querySelector(".thumb-down").setAttribute("aria-pressed",
	    String(kind === "negative"));
}

async function copyAnswer(e) {
	const el = e.currentTarget.closest(".msg");
	try {
		await navigator.clipboard.writeText(el.dataset.text || "");
		toast("Copied");
	} catch {
		toast("The browser did not allow copying");
	}
}

// ------------------------------------------------------------ errors

function showError(text, retryFn) {
	$("#chat-error-text").textContent = text;
	const b = $("#chat-error-retry");
	b.hidden = !retryFn;
	b.onclick = retryFn ? () => { hideError(); retryFn(); } : null;
	$("#chat-error").hidden = false;
}

function hideError() {
	$("#chat-error").hidden = true;
}

function retriable(err) {
	return err.status === 0 || err.status >= 500;
}

// What a person should read for a refused request.
export function describe(err) {
	if (!(err instanceof ApiError))
		return "Something went wrong. Try again.";
	switch (err.status) {
	case 0:
		return "quipu cannot be reached. Check the connection and try again.";
	case 409:
		return "quipu is still answering in this conversation. Wait for it or stop it.";
	case 413:
		return "That is too long to send.";
	case 429:
		if (err.retryAfter !== null && err.retryAfter > 60)
			return "You have used all of today's messages. You can send " +
			    `more in ${formatWait(err.retryAfter)}.`;
		return "Too many requests. Wait a moment and try again.";
	case 502:
	case 504:
		return "The assistant is unavailable right now: " +
		    `${err.message}. Try again.`;
	case 503:
		return "quipu is unavailable right now (its database did not " +
		    "answer). Try again in a moment.";
	default:
		if (err.details)
			return `${err.message}: ${Object.values(err.details).join(", ")}`;
		return err.message.charAt(0).toUpperCase() + err.message.slice(1) + ".";
	}
}
