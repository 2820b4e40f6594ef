-- wrk script for bench/serve_bench.py: POSTs one request body (a file) to one path, and prints
-- the run's figures as one JSON line.
-- usage: wrk ... -s bench/serve_post.lua URL -- BODY_FILE PATH [JSON_LENGTH]
-- JSON_LENGTH: the body is the binary tensor data extension's (JSON, then raw tensor bytes).
local request_text

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local body = file:read("*a")
  file:close()
  local headers = {["Content-Type"] = "application/json"}
  if args[3] then headers["Inference-Header-Content-Length"] = args[3] end
  request_text = wrk.format("POST", args[2], headers, body)
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
