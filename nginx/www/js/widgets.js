// widgets.js: ChatKit widgets as DOM.
//
// quipu sends one kind, the task list (a ListView of ListViewItems, each a
// Col of Text and Caption beside a Row of Buttons), but the renderer takes
// the common ChatKit components generically, so a change of layout on the
// server needs no change here. Unknown components render their children.

import { h } from "./dom.js";
import { render as markdown } from "./markdown.js";

// render(widget, onAction): onAction(action, button) runs a button's action.
export function render(node, onAction) {
	if (!node || typeof node !== "object")
		return document.createTextNode("");
	const kids = () => (node.children || []).map((c) => render(c, onAction));
	switch (node.type) {
	case "ListView":
		return listView(node, kids());
	case "ListViewItem":
		return h("li.w-row", { class: align(node) }, kids());
	case "Row":
		return h("div.w-hrow", { class: align(node) }, kids());
	case "Col":
	case "Box":
	case "Card":
	case "Form":
		return h("div.w-col", null, kids());
	case "Text":
	case "Title":
	case "Caption":
	case "Label":
		return text(node);
	case "Markdown":
		return h("div.w-markdown", null, markdown(String(node.value || "")));
	case "Badge":
		return h("span.w-badge", null, String(node.label || ""));
	case "Divider":
		return h("hr.w-divider");
	case "Spacer":
		return h("span.w-spacer");
	case "Button":
		return button(node, onAction);
	default:
		return h("div.w-col", null, kids());
	}
}

function align(node) {
	return node.align === "center" ? "w-center" : null;
}

function text(node) {
	const cls = {
		Title: "w-title",
		Caption: "w-caption",
	}[node.type] || "w-text";
	const el = h(`span.${cls}`, null, String(node.value ?? ""));
	if (node.lineThrough)
		el.classList.add("w-done");
	if (node.weight === "medium" || node.weight === "semibold" ||
	    node.weight === "bold")
		el.classList.add("w-strong");
	if (node.color === "secondary" || node.color === "tertiary")
		el.classList.add("w-muted");
	return el;
}

// A ListView shows `limit' rows and a "Show more" button for the rest.
function listView(node, rows) {
	const ul = h("ul.w-list");
	const limit = Number.isInteger(node.limit) ? node.limit : rows.length;
	rows.forEach((r, i) => {
		if (i >= limit)
			r.hidden = true;
		ul.append(r);
	});
	if (rows.length <= limit)
		return ul;
	const more = h("button.w-more", { type: "button",
	    onclick: () => {
		for (const r of rows)
			r.hidden = false;
		more.remove();
	} }, `Show ${rows.length - limit} more`);
	return h("div.w-col", null, ul, more);
}

function button(node, onAction) {
	const variant = ["success", "danger", "secondary"].includes(node.color)
	    ? `w-${node.color}` : null;
	const action = node.onClickAction;
	const b = h("button.w-button", { type: "button", class: variant },
	    String(node.label || ""));
	if (!action) {
		b.disabled = true;
		return b;
	}
	b.addEventListener("click", () => onAction(action, b));
	return b;
}

// Gives each button an accessible name with its row's first text:
// "Done: buy milk".
export function labelButtons(root) {
	for (const row of root.querySelectorAll(".w-row")) {
		const first = row.querySelector(".w-text, .w-title");
		if (!first)
			continue;
		for (const b of row.querySelectorAll(".w-button"))
			b.setAttribute("aria-label", `${b.textContent}: ${first.textContent}`);
	}
}
