// Process metrics in Prometheus text format: per-route request counters and latency
// histograms (by method and status), bytes in/out, plus named gauges and counters that
// modules register (e.g. in-flight uploads). All operations are thread-safe and lock-free on
// the hot path except the first use of a new label set.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace atcr::net {

class Gauge {
 public:
  void Add(int64_t v) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Metrics {
 public:
  Metrics();
  ~Metrics();

  void ObserveRequest(std::string_view route, std::string_view method, int status,
                      double seconds, uint64_t bytes_in, uint64_t bytes_out);
  // Named gauge or counter (a counter is a gauge that only goes up); created on first use,
  // the reference stays valid for the life of the Metrics object.
  Gauge& GetGauge(std::string_view name, std::string_view help);
  Gauge& GetCounter(std::string_view name, std::string_view help);

  std::string Render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace atcr::net
