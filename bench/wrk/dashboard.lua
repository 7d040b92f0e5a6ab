-- Sends the dashboard query, each request for the next citizen in a list.
-- Arguments (after `--`): BODY_FILE VALUES_FILE MODE
--   MODE "bearer":   every request sends BODY_FILE as is, with
--                    "Authorization: Bearer <line>" from VALUES_FILE and an
--                    X-Forwarded-For address of its own per line;
--   MODE "variable": every request sends BODY_FILE with __CITIZEN_ID__
--                    replaced by the line from VALUES_FILE.
-- Each thread starts at its own offset in the list, so that threads ask for
-- different citizens. At the end it prints one line: BENCH_JSON {...}.

local threads = {}
local requests = {}
local position = 1

local function read_file(path)
  local handle = assert(io.open(path, "rb"))
  local content = handle:read("*a")
  handle:close()
  return content
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      lines[#lines + 1] = line
    end
  end
  return lines
end

function setup(thread)
  thread:set("thread_index", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  local body = read_file(args[1])
  local values = read_lines(args[2])
  local mode = args[3]
  for index, value in ipairs(values) do
    local headers = { ["Content-Type"] = "application/json" }
    local request_body = body
    if mode == "bearer" then
      headers["Authorization"] = "Bearer " .. value
      -- Each phone from its own address, as a proxy in front of the service says.
      headers["X-Forwarded-For"] = string.format(
        "10.%d.%d.%d", math.floor(index / 65536) % 256, math.floor(index / 256) % 256, index % 256)
    else
      request_body = string.gsub(body, "__CITIZEN_ID__", value)
    end
    requests[index] = wrk.format("POST", nil, headers, request_body)
  end
  local share = math.floor(#requests / (tonumber(args[4]) or 1))
  position = (thread_index or 0) * share % #requests + 1
end

function request()
  local next_request = requests[position]
  position = position % #requests + 1
  return next_request
end

function done(summary, latency, requests_stats)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean
  ))
end
