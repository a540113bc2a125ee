// chatkit.js: the ChatKit protocol at POST /api/chatkit.
//
// A request is {"type", "params"}. Plain requests answer JSON; streaming
// ones answer server-sent events whose frames are `data: <json>` lines,
// which this reads from the response body as they arrive. Errors before the
// stream are quipu's usual JSON errors (ApiError).

import { json, request } from "./api.js";

const URL = "/api/chatkit";

export function call(type, params) {
	return json(URL, { method: "POST", body: { type, params } });
}

// Streams `type' and calls onEvent(frame) for each frame, after
// onOpen(response) once the stream is accepted. Resolves when the stream
// ends; rejects with ApiError (refused before the stream), with an
// AbortError (signal aborted: the stop button), or a TypeError (the
// connection broke mid-stream).
export async function stream(type, params, { onEvent, onOpen, signal }) {
	const res = await request(URL, { method: "POST", body: { type, params },
	    accept: "text/event-stream", signal });
	if (onOpen)
		onOpen(res);
	await readFrames(res.body, onEvent);
}

// Reads server-sent events from `body' (a ReadableStream of bytes) and
// calls onEvent with each frame's data, parsed. Frames may arrive split
// anywhere, even inside a UTF-8 character.
export async function readFrames(body, onEvent) {
	const reader = body.getReader();
	const decoder = new TextDecoder();
	let buf = "";
	for (;;) {
		const { value, done } = await reader.read();
		if (done)
			break;
		buf += decoder.decode(value, { stream: true });
		let end;
		while ((end = frameEnd(buf)) !== -1) {
			const frame = buf.slice(0, end.at);
			buf = buf.slice(end.at + end.len);
			const data = frameData(frame);
			if (data !== null)
				onEvent(JSON.parse(data));
		}
	}
	const rest = frameData(buf);
	if (rest !== null)
		onEvent(JSON.parse(rest));
}

// Where the first frame ends: a blank line, in either line ending.
function frameEnd(buf) {
	const m = /\r?\n\r?\n/.exec(buf);
	return m ? { at: m.index, len: m[0].length } : -1;
}

// The data of one frame (its `data:' lines joined), or null for a comment
// (`: ping`) or an empty frame.
function frameData(frame) {
	const lines = [];
	for (const line of frame.split(/\r?\n/)) {
		if (line.startsWith("data:"))
			lines.push(line.slice(line.startsWith("data: ") ? 6 : 5));
	}
	return lines.length > 0 ? lines.join("\n") : null;
}

// A user message's ChatKit input.
export function userInput(text) {
	return { content: [{ type: "input_text", text }], attachments: [],
	    inference_options: {} };
}

// The text of an item: the joined text parts.
export function itemText(item) {
	return (item.content || []).map((p) => p.text || "").join("");
}
