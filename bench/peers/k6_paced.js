// k6 open model for bench/compare.py's latency-fidelity run: RATE requests/s
// (constant-arrival-rate) from at most VUS virtual users, GET TARGET/.
// Environment: TARGET (base URL), RATE, VUS, DURATION (e.g. "10s"), and
// BENCH_PATH (default "/": the coordinated-omission demonstration's stalling route).
import http from "k6/http";

export const options = {
  scenarios: {
    paced: {
      executor: "constant-arrival-rate",
      rate: Number(__ENV.RATE || 1000),
      timeUnit: "1s",
      duration: __ENV.DURATION || "10s",
      preAllocatedVUs: Number(__ENV.VUS || 10),
      maxVUs: Number(__ENV.VUS || 10),
      gracefulStop: "5s",
    },
  },
  summaryTrendStats: ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"],
};

export default function () {
  http.get(`${__ENV.TARGET}${__ENV.BENCH_PATH || "/"}`);
}
