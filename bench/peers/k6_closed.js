// k6 closed loop for bench/compare.py: VUS virtual users, no sleep, GET TARGET/.
// Environment: TARGET (base URL), VUS, DURATION (e.g. "10s").
import http from "k6/http";

export const options = {
  scenarios: {
    closed: {
      executor: "constant-vus",
      vus: Number(__ENV.VUS || 50),
      duration: __ENV.DURATION || "10s",
      gracefulStop: "5s",
    },
  },
  summaryTrendStats: ["avg", "min", "med", "max", "p(90)", "p(99)"],
};

export default function () {
  http.get(`${__ENV.TARGET}/`);
}
