// The page's reader of server-sent events (nginx/www/js/chatkit.js,
// readFrames), run in node: frames cut at every possible place, CRLF line
// ends, comments, several data lines, a broken last frame. The browser
// tests see only the cuts that one run of the network happens to make.
//
// The page's modules are plain ES modules without a package.json (nginx
// serves that directory as is), so this copies them where node reads
// them as modules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const jsDir = path.join(here, '..', '..', 'nginx', 'www', 'js');

async function loadChatkit()
{
	const dir = await mkdtemp(path.join(os.tmpdir(), 'quipu-js-'));
	await cp(jsDir, dir, { recursive: true });
	await writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n');
	const mod = await import(pathToFileURL(path.join(dir, 'chatkit.js')).href);
	await rm(dir, { recursive: true, force: true });
	return mod;
}

const { readFrames } = await loadChatkit();

// A body that delivers `bytes' in the pieces given by `cuts' (offsets).
function body(bytes, cuts)
{
	let i = 0;
	const bounds = [0, ...cuts, bytes.length];
	return new ReadableStream({
		pull(controller) {
			if (i + 1 >= bounds.length) {
				controller.close();
				return;
			}
			controller.enqueue(bytes.slice(bounds[i], bounds[i + 1]));
			i++;
		},
	});
}

async function frames(text, cuts = [])
{
	const out = [];
	await readFrames(body(new TextEncoder().encode(text), cuts),
	    (f) => out.push(f));
	return out;
}

const STREAM = 'data: {"type":"thread.created","thread":{"id":"thr_1"}}\n\n' +
    ': ping\n\n' +
    'data: {"type":"thread.item.updated","update":{"delta":"caf\u00e9 \u{1F600}"}}\n\n' +
    'data: {"type":"done"}\n\n';
const EXPECTED = [
	{ type: 'thread.created', thread: { id: 'thr_1' } },
	{ type: 'thread.item.updated', update: { delta: 'caf\u00e9 \u{1F600}' } },
	{ type: 'done' },
];

test('whole stream in one piece', async () => {
	assert.deepEqual(await frames(STREAM), EXPECTED);
});

test('cut in two at every byte, inside UTF-8 characters too', async () => {
	const n = new TextEncoder().encode(STREAM).length;
	for (let at = 1; at < n; at++)
		assert.deepEqual(await frames(STREAM, [at]), EXPECTED, `cut at ${at}`);
});

test('one byte at a time', async () => {
	const n = new TextEncoder().encode(STREAM).length;
	const cuts = Array.from({ length: n - 1 }, (_, i) => i + 1);
	assert.deepEqual(await frames(STREAM, cuts), EXPECTED);
});

test('CRLF line ends, and a cut between CR and LF', async () => {
	const crlf = STREAM.replace(/\n/g, '\r\n');
	assert.deepEqual(await frames(crlf), EXPECTED);
	const at = crlf.indexOf('\r\n\r\n') + 1;
	assert.deepEqual(await frames(crlf, [at, at + 2]), EXPECTED);
});

test('several data lines make one frame; "data:" without a space', async () => {
	const text = 'data: {"a":\ndata: 1}\n\ndata:{"b":2}\n\n';
	assert.deepEqual(await frames(text), [{ a: 1 }, { b: 2 }]);
});

test('a last frame without its blank line is still read', async () => {
	assert.deepEqual(await frames('data: {"type":"done"}'), [{ type: 'done' }]);
});

test('a stream cut inside a frame is an error, not a silent end', async () => {
	await assert.rejects(frames('data: {"type":"thread.item.upd'), SyntaxError);
});

test('comments and empty frames alone give nothing', async () => {
	assert.deepEqual(await frames(': ping\n\n\n\n: ping\n\n'), []);
});
