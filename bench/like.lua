-- wrk: PUT /api/loops/:id/like of a random seeded loop, each request
-- as one of the bench users (BENCH_TOKENS, space-separated).
local n = tonumber(os.getenv("BENCH_N") or "100000")
local tokens = {}
for t in string.gmatch(os.getenv("BENCH_TOKENS") or "", "%S+") do
	tokens[#tokens + 1] = "Bearer " .. t
end
math.randomseed(os.time())
request = function()
	return wrk.format("PUT", string.format(
	    "/api/loops/00000000-0000-4000-8000-%012x/like", math.random(1, n)),
	    { ["Authorization"] = tokens[math.random(1, #tokens)] })
end
