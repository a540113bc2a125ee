-- bench/login.lua: wrk posts POST /api/v1/auth/login, cycling through the
-- bench users so that no one user's rows (sessions, failure counts) are hot.
--
-- From the environment (set by bench/login.sh): LOGIN_PREFIX (user names
-- are LOGIN_PREFIX .. 1 .. LOGIN_USERS), LOGIN_USERS, LOGIN_PASSWORD.
-- done() prints one line "statuses: 200=N ..." so that a throttled (429)
-- or failed run shows what it got, not only wrk's non-2xx count.

local prefix = os.getenv("LOGIN_PREFIX") or "bench_login_"
local users = tonumber(os.getenv("LOGIN_USERS") or "50")
local password = os.getenv("LOGIN_PASSWORD") or ""
local headers = { ["Content-Type"] = "application/json" }

local threads = {}

function setup(thread)
	thread:set("id", #threads)
	table.insert(threads, thread)
end

-- Each thread starts at a different user; `statuses' is read by done().
function init(args)
	n = (id * 17) % users
	statuses = {}
end

function request()
	n = n % users + 1
	local body = string.format('{"username":"%s%d","password":"%s"}',
	    prefix, n, password)
	return wrk.format("POST", nil, headers, body)
end

function response(status, hdrs, body)
	local k = tostring(status)
	statuses[k] = (statuses[k] or 0) + 1
end

function done(summary, latency, requests)
	local total = {}
	for _, t in ipairs(threads) do
		for k, v in pairs(t:get("statuses") or {}) do
			total[k] = (total[k] or 0) + v
		end
	end
	local keys = {}
	for k in pairs(total) do
		table.insert(keys, k)
	end
	table.sort(keys)
	local out = {}
	for _, k in ipairs(keys) do
		table.insert(out, k .. "=" .. total[k])
	end
	io.write("statuses: " .. table.concat(out, " ") .. "\n")
end
