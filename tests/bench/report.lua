-- wrk script for every run of tests/bench/run.
--
-- wrk prints rounded numbers ("1.23ms", "12.3k"); done() below prints the
-- exact ones on one "BENCH {json}" line that the run script parses. With
-- BENCH_POST_BYTES=N in the environment each request is a POST with an
-- N-byte body (wrk adds the Content-Length itself).

local post = tonumber(os.getenv("BENCH_POST_BYTES") or "")
if post then
  wrk.method = "POST"
  wrk.body = string.rep("x", post)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
