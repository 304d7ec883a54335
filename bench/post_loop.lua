-- wrk: POST /api/loops with a fresh Idempotency-Key (a keyed write:
-- its transaction holds the key's row, the budget and the insert), each
-- request as one of the bench users (BENCH_TOKENS, space-separated), so
-- owners' counter rows are not one hot row for every client.  The body
-- is bench/post_body.json (BENCH_POST_BODY names it).
local tokens = {}
for t in string.gmatch(os.getenv("BENCH_TOKENS") or "", "%S+") do
	tokens[#tokens + 1] = "Bearer " .. t
end
local f = assert(io.open(os.getenv("BENCH_POST_BODY") or "bench/post_body.json"))
local body = f:read("*a"):gsub("%s+$", "")
f:close()
math.randomseed(os.time())
local run = string.format("%d-%d", os.time(), math.random(1, 1000000000))
local k = 0
request = function()
	k = k + 1
	return wrk.format("POST", "/api/loops", {
	    ["Content-Type"] = "application/json",
	    ["Idempotency-Key"] = string.format("wrk-%s-%d", run, k),
	    ["Authorization"] = tokens[math.random(1, #tokens)] }, body)
end
