-- load.lua - wrk script for bench/load: POSTs one image file as a raw body and counts the
-- answers by status. Environment: XAID_BODY (the file), XAID_CTYPE (image/png or image/jpeg).
-- done() prints one JSON line that bench/load reads.
local path = os.getenv("XAID_BODY")
local f = assert(io.open(path, "rb"), "cannot open XAID_BODY")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("XAID_CTYPE") or "image/png"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%d": %d', k, v)) end
  io.write(string.format(
    'LOAD {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.3f, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"status": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    table.concat(parts, ", ")))
end
