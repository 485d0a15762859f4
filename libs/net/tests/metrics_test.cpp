#include "atcr/net/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace atcr::net {
namespace {

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(Metrics, RendersRequestCountersAndCumulativeHistogram) {
  Metrics m;
  m.ObserveRequest("/v2/*", "GET", 200, 0.003, 100, 2000);
  m.ObserveRequest("/v2/*", "GET", 200, 0.2, 50, 10);
  m.ObserveRequest("/v2/*", "GET", 404, 0.0001, 10, 20);
  std::string out = m.Render();
  EXPECT_TRUE(Contains(out, "# TYPE atcr_http_requests_total counter\n"));
  EXPECT_TRUE(Contains(out, R"(atcr_http_requests_total{route="/v2/*",method="GET",status="200"} 2)"));
  EXPECT_TRUE(Contains(out, R"(atcr_http_requests_total{route="/v2/*",method="GET",status="404"} 1)"));
  EXPECT_TRUE(Contains(out, "# TYPE atcr_http_request_duration_seconds histogram\n"));
  EXPECT_TRUE(Contains(
      out, R"(atcr_http_request_duration_seconds_bucket{route="/v2/*",method="GET",le="0.0005"} 1)"));
  EXPECT_TRUE(Contains(
      out, R"(atcr_http_request_duration_seconds_bucket{route="/v2/*",method="GET",le="0.005"} 2)"));
  EXPECT_TRUE(Contains(
      out, R"(atcr_http_request_duration_seconds_bucket{route="/v2/*",method="GET",le="0.25"} 3)"));
  EXPECT_TRUE(Contains(
      out, R"(atcr_http_request_duration_seconds_bucket{route="/v2/*",method="GET",le="+Inf"} 3)"));
  EXPECT_TRUE(Contains(out, R"(atcr_http_request_duration_seconds_count{route="/v2/*",method="GET"} 3)"));
  EXPECT_TRUE(Contains(out, R"(atcr_http_bytes_received_total{route="/v2/*",method="GET"} 160)"));
  EXPECT_TRUE(Contains(out, R"(atcr_http_bytes_sent_total{route="/v2/*",method="GET"} 2030)"));
}

TEST(Metrics, EscapesLabelValues) {
  Metrics m;
  m.ObserveRequest("a\"b\\c\nd", "GET", 200, 0.01, 0, 0);
  EXPECT_TRUE(Contains(m.Render(), R"(route="a\"b\\c\nd")"));
}

TEST(Metrics, NamedGaugesAndCountersAreStableAndRendered) {
  Metrics m;
  Gauge& g = m.GetGauge("atcr_registry_uploads_in_flight", "Uploads in progress.");
  g.Add(3);
  g.Add(-1);
  EXPECT_EQ(&m.GetGauge("atcr_registry_uploads_in_flight", "ignored"), &g);
  Gauge& c = m.GetCounter("atcr_test_events_total", "Events.\nSecond line");
  c.Add(5);
  std::string out = m.Render();
  EXPECT_TRUE(Contains(out, "# HELP atcr_registry_uploads_in_flight Uploads in progress.\n"));
  EXPECT_TRUE(Contains(out, "# TYPE atcr_registry_uploads_in_flight gauge\n"));
  EXPECT_TRUE(Contains(out, "\natcr_registry_uploads_in_flight 2\n"));
  EXPECT_TRUE(Contains(out, "# HELP atcr_test_events_total Events.\\nSecond line\n"));
  EXPECT_TRUE(Contains(out, "# TYPE atcr_test_events_total counter\n"));
  EXPECT_TRUE(Contains(out, "\natcr_test_events_total 5\n"));
}

TEST(Metrics, ConcurrentObservationsAreAllCounted) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 1000; ++i) {
        m.ObserveRequest("r" + std::to_string(i % 3), "GET", 200 + t % 2, 0.001, 1, 1);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string out = m.Render();
  // r0 gets i in {0,3,...,999}: 334 per thread; threads 0 and 2 report 200.
  EXPECT_TRUE(Contains(out, R"(atcr_http_requests_total{route="r0",method="GET",status="200"} 668)"));
  EXPECT_TRUE(Contains(out, R"(atcr_http_request_duration_seconds_count{route="r0",method="GET"} 1336)"));
}

}  // namespace
}  // namespace atcr::net
