-- wrk: POST /api/loops, each request as one of the bench users
-- (BENCH_TOKENS, space-separated), so owners' counter rows are not
-- one hot row for every client.
local tokens = {}
for t in string.gmatch(os.getenv("BENCH_TOKENS") or "", "%S+") do
	tokens[#tokens + 1] = "Bearer " .. t
end
math.randomseed(os.time())
local body = '{"name":"bench post","bars":4,"bpm":112,"color":"#336699",' ..
    '"chordProgression":[{"bar":0,"chord":"Am7"},{"bar":1,"chord":"D9"}],' ..
    '"iconSequence":[{"bar":0,"row":0,"soundId":"kick","pitch":36},' ..
    '{"bar":4,"row":1,"soundId":"snare","pitch":38,"velocity":0.75},' ..
    '{"bar":8,"row":2,"soundId":"hihat","pitch":42,"duration16":2}]}'
request = function()
	return wrk.format("POST", "/api/loops", {
	    ["Content-Type"] = "application/json",
	    ["Authorization"] = tokens[math.random(1, #tokens)] }, body)
end
