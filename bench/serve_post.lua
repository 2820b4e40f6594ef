-- wrk script for bench/serve_bench.py: POSTs one request body (a file) to one path, and prints
-- the run's figures as one JSON line.
-- usage: wrk ... -s bench/serve_post.lua URL -- BODY_FILE PATH
local request_text

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local body = file:read("*a")
  file:close()
  request_text = wrk.format("POST", args[2], {["Content-Type"] = "application/json"}, body)
end

function request()
  return request_text
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"socket_errors":%d,"non_2xx":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
