-- wrk pacing for bench/compare.py's latency-fidelity run (wrk2 is not packaged
-- in Debian). After each response a connection waits DELAY_MS before sending
-- the next request, so with -c10 and 10 ms the rate is just under 1,000/s.
-- wrk starts its latency clock when the request is written, after the delay,
-- so the delay is not in the reported latency. Closed loop: a slow answer
-- delays the next request (no coordinated-omission correction, unlike wrk2).
local delay_ms = tonumber(os.getenv("DELAY_MS") or "10")

function delay()
  return delay_ms
end
