-- wrk: GET /api/loops/:id of a random seeded loop (anonymous).
local n = tonumber(os.getenv("BENCH_N") or "100000")
math.randomseed(os.time())
request = function()
	return wrk.format("GET", string.format(
	    "/api/loops/00000000-0000-4000-8000-%012x", math.random(1, n)))
end
