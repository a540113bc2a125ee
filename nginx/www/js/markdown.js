// markdown.js: the part of Markdown that models write, rendered as DOM
// nodes: paragraphs, line breaks, headings, bullet and numbered lists,
// code blocks, `code`, **bold**, *italic*. Text is always set as text
// nodes; nothing is parsed as HTML, and there are no links or images, so a
// model's answer cannot make the browser fetch anything. The renderer is
// forgiving: it runs on every streamed piece, where a `**' or a code fence
// is often still open.

import { h } from "./dom.js";

export function render(text) {
	const frag = document.createDocumentFragment();
	const lines = text.replace(/\r\n/g, "\n").split("\n");
	let i = 0;
	while (i < lines.length) {
		const line = lines[i];
		if (/^```/.test(line)) {
			const code = [];
			i++;
			while (i < lines.length && !/^```/.test(lines[i]))
				code.push(lines[i++]);
			i++;	/* the closing fence, when it came */
			frag.append(h("pre", null, h("code", null, code.join("\n"))));
			continue;
		}
		const heading = /^(#{1,6})\s+(.*)$/.exec(line);
		if (heading) {
			const level = Math.min(heading[1].length + 2, 6);
			frag.append(h(`h${level}`, null, inline(heading[2])));
			i++;
			continue;
		}
		if (listItem(line)) {
			const ordered = /^\s*\d+[.)]\s/.test(line);
			const list = h(ordered ? "ol" : "ul");
			while (i < lines.length && listItem(lines[i])) {
				list.append(h("li", null, inline(listItem(lines[i]))));
				i++;
			}
			frag.append(list);
			continue;
		}
		if (line.trim() === "") {
			i++;
			continue;
		}
		const para = [];
		while (i < lines.length && lines[i].trim() !== "" &&
		    !listItem(lines[i]) && !/^(```|#{1,6}\s)/.test(lines[i]))
			para.push(lines[i++]);
		const p = h("p");
		para.forEach((l, n) => {
			if (n > 0)
				p.append(h("br"));
			p.append(inline(l));
		});
		frag.append(p);
	}
	return frag;
}

function listItem(line) {
	const m = /^\s*(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line);
	return m ? m[1] : null;
}

// `code`, **bold**, *italic* / _italic_, as nodes.
function inline(text) {
	const frag = document.createDocumentFragment();
	const re = /`([^`]+)`|\*\*([^*]+)\*\*|(?:^|(?<=\W))[*_]([^*_\s][^*_]*?)[*_](?=\W|$)/g;
	let last = 0;
	let m;
	while ((m = re.exec(text)) !== null) {
		frag.append(text.slice(last, m.index));
		if (m[1] !== undefined)
			frag.append(h("code", null, m[1]));
		else if (m[2] !== undefined)
			frag.append(h("strong", null, m[2]));
		else
			frag.append(h("em", null, m[3]));
		last = re.lastIndex;
	}
	frag.append(text.slice(last));
	return frag;
}
