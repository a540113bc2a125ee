// icons.js: the few icons the page uses, as inline SVG (no icon font, no
// emoji, which not every system can draw). Each is drawn with strokes in
// the current text colour and hidden from screen readers: the button that
// holds it carries the name.

const SVG = "http://www.w3.org/2000/svg";

const PATHS = {
	copy: "M9 9h11v11H9zM5 15H4V4h11v1",
	up: "M7 10v10H3V10zM7 10l4-7c1.4 0 2.5 1.1 2.5 2.5V9H19a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 17.8 20H7",
	down: "M17 14V4h4v10zM17 14l-4 7c-1.4 0-2.5-1.1-2.5-2.5V15H5a2 2 0 0 1-2-2.3l1.2-7A2 2 0 0 1 6.2 4H17",
	pin: "M12 16v6M8 3h8l-1 6 4 4v2H5v-2l4-4z",
	unpin: "M12 16v6M8 3h8l-1 6 4 4v2H5v-2l4-4zM3 3l18 18",
	edit: "M4 20h4L19 9l-4-4L4 16zM13 7l4 4",
	trash: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6",
	retry: "M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7",
};

export function icon(name) {
	const svg = document.createElementNS(SVG, "svg");
	svg.setAttribute("viewBox", "0 0 24 24");
	svg.setAttribute("width", "16");
	svg.setAttribute("height", "16");
	svg.setAttribute("aria-hidden", "true");
	svg.setAttribute("class", "icon");
	const path = document.createElementNS(SVG, "path");
	path.setAttribute("d", PATHS[name]);
	svg.append(path);
	return svg;
}
