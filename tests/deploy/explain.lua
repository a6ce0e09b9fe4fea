-- explain.lua - wrk script for tests/deploy/scale_out.py: POSTs one image to the explain route
-- and tallies the answers by status (503s by their error code), printed by done() as
--   status 200 1234
--   status 503:overloaded 2
-- Environment: XAI_IMAGE (a PNG file), XAI_PATH (the request path with its query).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("XAI_IMAGE"), "rb"))
  wrk.method = "POST"
  wrk.path = os.getenv("XAI_PATH")
  wrk.body = f:read("*a")
  wrk.headers["Content-Type"] = "image/png"
  f:close()
  tally = {}
end

function response(status, headers, body)
  local key = tostring(status)
  if status ~= 200 then
    key = key .. ":" .. (body:match('"code"%s*:%s*"([%w_]+)"') or "-")
  end
  tally[key] = (tally[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("tally")) do
      total[k] = (total[k] or 0) + v
    end
  end
  for k, v in pairs(total) do
    io.write(string.format("status %s %d\n", k, v))
  end
  local e = summary.errors
  io.write(string.format("socket_errors connect %d read %d write %d timeout %d\n",
                         e.connect, e.read, e.write, e.timeout))
  io.write(string.format("requests %d duration_us %d\n", summary.requests, summary.duration))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("latency_p%d_us %d\n", p, latency:percentile(p)))
  end
end
