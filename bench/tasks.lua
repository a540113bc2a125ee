-- bench/tasks.lua: wrk's side of the tasks benchmark (bench/tasks.sh).
--
-- The mix of BENCH.md, each request as a random one of the bench users
-- with that user's bearer token and, for one task, one of its own:
--   80 %  GET   /api/v1/tasks?limit=20
--   10 %  GET   /api/v1/tasks/{id}
--   10 %  PATCH /api/v1/tasks/{id}/complete  (no body: a toggle)
-- User n (1-based, the line of its token) owns the tasks
-- (n - 1) * TASKS_PER_USER + 1 .. n * TASKS_PER_USER (tasks_seed.sql).
--
-- From the environment: TASKS_TOKENS, the file of access tokens, one a
-- line, line n for user n (bench/mktokens); TASKS_PER_USER (50);
-- TASKS_MIX, the percentages of list, get and toggle ("80,10,10"; another
-- mix is for finding where time goes, never for the reported figures).
-- There is no response(): it would make wrk hand every answer to Lua,
-- CPU taken from the server under test; wrk counts non-2xx itself.

local path = os.getenv("TASKS_TOKENS") or ""
local per_user = tonumber(os.getenv("TASKS_PER_USER") or "50")
local mix_list, mix_get = string.match(os.getenv("TASKS_MIX") or "80,10,10",
    "^(%d+),(%d+),%d+$")
mix_list = tonumber(mix_list or 80)
mix_get = mix_list + tonumber(mix_get or 10)
local nthreads = 0

function setup(thread)
	thread:set("id", nthreads)
	nthreads = nthreads + 1
end

-- Each thread loads the tokens into its own Lua state and draws its own
-- random sequence (LuaJIT seeds every state alike).
function init(args)
	tokens = {}
	local f = io.open(path, "r")
	if f == nil then
		error("tasks.lua: cannot open TASKS_TOKENS (" .. path .. ")")
	end
	for line in f:lines() do
		table.insert(tokens, "Bearer " .. line)
	end
	f:close()
	if #tokens == 0 then
		error("tasks.lua: no token in " .. path)
	end
	math.randomseed(os.time() * 1000 + id * 7919)
	headers = {}
end

function request()
	local u = math.random(#tokens)
	local r = math.random(100)
	headers["Authorization"] = tokens[u]
	if r <= mix_list then
		return wrk.format("GET", "/api/v1/tasks?limit=20", headers)
	end
	local task = (u - 1) * per_user + math.random(per_user)
	if r <= mix_get then
		return wrk.format("GET", "/api/v1/tasks/" .. task, headers)
	end
	return wrk.format("PATCH", "/api/v1/tasks/" .. task .. "/complete",
	    headers)
end
