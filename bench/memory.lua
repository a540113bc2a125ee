-- bench/memory.lua: wrk's side of the memory benchmark (bench/memory.sh).
--
-- POST /api/v1/memories/search {"query": Q, "limit": 5} as one user,
-- Q taking the questions in turn, in the order of the file (the labelled
-- ones and the others mixed), so that every round sees the same
-- questions. Meant for wrk -t1 -c1: one request at a time, the latency
-- of a search alone.
--
-- From the environment: MEMORY_TOKEN_FILE, a file whose first line is the
-- user's access token; MEMORY_QUESTIONS, the questions, one a line, as
-- `memseed data questions' writes them ("NEEDLE<TAB>QUESTION"; the
-- needle number is ignored here). The questions need no JSON escaping
-- (memseed checks).
--
-- done() prints one line, "requests non2xx errors p50 p95 p99" (latencies
-- in ms), for the script to read; wrk's own output says the same and
-- more. There is no response(): wrk counts non-2xx itself.

local token_file = os.getenv("MEMORY_TOKEN_FILE") or ""
local questions_file = os.getenv("MEMORY_QUESTIONS") or ""

local function lines(path, what)
	local f = io.open(path, "r")
	if f == nil then
		error("memory.lua: cannot open " .. what .. " (" .. path .. ")")
	end
	local t = {}
	for line in f:lines() do
		table.insert(t, line)
	end
	f:close()
	if #t == 0 then
		error("memory.lua: " .. what .. " is empty")
	end
	return t
end

function init(args)
	local token = lines(token_file, "MEMORY_TOKEN_FILE")[1]
	headers = {
		["Authorization"] = "Bearer " .. token,
		["Content-Type"] = "application/json",
	}
	bodies = {}
	for _, line in ipairs(lines(questions_file, "MEMORY_QUESTIONS")) do
		local q = string.match(line, "^%d+\t(.+)$") or line
		table.insert(bodies,
		    '{"query":"' .. q .. '","limit":5}')
	end
	n = 0
end

function request()
	n = n % #bodies + 1
	return wrk.format("POST", "/api/v1/memories/search", headers,
	    bodies[n])
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("memory.lua: %d %d %d %.3f %.3f %.3f\n",
	    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
	    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
	    latency:percentile(99) / 1000))
end
