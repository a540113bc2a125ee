// dom.js: small helpers for building the page without innerHTML.
//
// Every text the server or the user wrote goes into the page as a text
// node, never as markup, so nothing they write can run as script.

export const $ = (sel, root = document) => root.querySelector(sel);

// h("button.retry", {type: "button", onclick: f}, "Retry")
export function h(tag, attrs, ...children) {
	const [name, ...classes] = tag.split(".");
	const el = document.createElement(name || "div");
	if (classes.length > 0)
		el.className = classes.join(" ");
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k.startsWith("on"))
			el.addEventListener(k.slice(2), v);
		else if (k === "dataset")
			Object.assign(el.dataset, v);
		else if (k === "class")
			el.className += (el.className ? " " : "") + v;
		else
			el.setAttribute(k, v === true ? "" : String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else
			el.append(c instanceof Node ? c : String(c));
	}
}

let toastTimer = 0;

// A short notice at the bottom of the window, read out by screen readers.
export function toast(text) {
	const t = $("#toast");
	t.textContent = text;
	t.classList.add("shown");
	clearTimeout(toastTimer);
	toastTimer = setTimeout(() => t.classList.remove("shown"), 3500);
}

// Asks in the confirm dialog; resolves true when the user agrees.
export function confirmAction(text, okLabel = "Delete") {
	const dlg = $("#confirm");
	$("#confirm-text").textContent = text;
	$("#confirm-ok").textContent = okLabel;
	dlg.returnValue = "";
	return new Promise((resolve) => {
		dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"),
		    { once: true });
		dlg.showModal();
		$("#confirm-cancel").focus();
	});
}

// A loader for a panel that reloads often: load(...requests) resolves the
// answers of all the requests (promises), or null when one failed (said in
// a toast naming `what', except for a 401, which signs out) or when a newer
// load started meanwhile, whose answer is the one to show.
export function latestLoader(what) {
	let seq = 0;
	return async (...requests) => {
		const mine = ++seq;
		try {
			const answers = await Promise.all(requests);
			return mine === seq ? answers : null;
		} catch (err) {
			if (err.status !== 401 && mine === seq)
				toast(`The ${what} could not be loaded`);
			return null;
		}
	};
}

// Calls f at most once per `ms' of quiet (search boxes).
export function debounce(f, ms) {
	let timer = 0;
	return (...args) => {
		clearTimeout(timer);
		timer = setTimeout(() => f(...args), ms);
	};
}

// A due date: the server stores a day as midnight UTC, so such a time is
// shown as that day whatever the browser's zone; other times in local time.
export function formatDue(iso) {
	if (!iso)
		return "";
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return "";
	const dayOnly = d.getUTCHours() === 0 && d.getUTCMinutes() === 0;
	const day = dueFormat(dayOnly ? "UTC" : undefined).format(d);
	if (dayOnly)
		return day;
	return `${day}, ${d.toLocaleTimeString(undefined, { hour: "2-digit",
	    minute: "2-digit" })}`;
}

// "Mon 23 Nov", as the assistant and its task widgets write dates.
function dueFormat(timeZone) {
	return new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric",
	    month: "short", timeZone });
}

// Is the due date before today (for the "overdue" mark)?
export function isOverdue(iso) {
	if (!iso)
		return false;
	const d = new Date(iso);
	const today = new Date();
	const startUTC = Date.UTC(today.getFullYear(), today.getMonth(),
	    today.getDate());
	return d.getTime() < startUTC;
}

export function formatDate(iso) {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return "";
	return d.toLocaleDateString(undefined, { day: "numeric", month: "short",
	    year: "numeric" });
}

// "5 h 12 min", "3 min", "40 s"
export function formatWait(seconds) {
	const s = Math.max(0, Math.round(seconds));
	if (s < 60)
		return `${s} s`;
	const m = Math.round(s / 60);
	if (m < 60)
		return `${m} min`;
	return `${Math.floor(m / 60)} h ${m % 60} min`;
}
