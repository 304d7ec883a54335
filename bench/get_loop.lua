-- wrk: GET /api/loops/:id of a random seeded loop (anonymous), under
-- the mount point BENCH_MOUNT ("" at the root).
local n = tonumber(os.getenv("BENCH_N") or "100000")
local mount = os.getenv("BENCH_MOUNT") or ""
math.randomseed(os.time())
request = function()
	return wrk.format("GET", string.format(
	    "%s/api/loops/00000000-0000-4000-8000-%012x", mount, math.random(1, n)))
end
