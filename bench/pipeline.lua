-- wrk script: HTTP/1.1 pipelining, as TechEmpower's plaintext test does it. Each write
-- carries DEPTH requests (the first script argument, default 16); wrk counts each reply.
--   wrk -t1 -c256 -d10s --latency -s bench/pipeline.lua http://127.0.0.1:8080/ -- 16
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil)
  end
  req = table.concat(r)
end

request = function()
  return req
end
