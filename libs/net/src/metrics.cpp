#include "atcr/net/metrics.h"

#include <array>
#include <charconv>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <tuple>

#include "atcr/base/check.h"

namespace atcr::net {
namespace {

// Upper bounds (seconds) of the latency histogram: sub-millisecond cache hits up to
// multi-minute blob uploads.
constexpr std::array<double, 17> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,   0.25,   0.5,   1,     2.5,
                                             5,      10,    30,     60,    300};

struct RequestKey {
  std::string route;
  std::string method;
  int status;
};
struct RequestKeyView {
  std::string_view route;
  std::string_view method;
  int status;
};
struct RequestKeyLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    // As string_views: clang 14 with libstdc++ 12 cannot compare tuples of string and
    // string_view.
    using View = std::tuple<int, std::string_view, std::string_view>;
    return View(a.status, a.route, a.method) < View(b.status, b.route, b.method);
  }
};
// route and method, for the histogram.
struct PairKey {
  std::string route;
  std::string method;
};
struct PairKeyView {
  std::string_view route;
  std::string_view method;
};
struct PairKeyLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::string_view(a.route) < std::string_view(b.route) ||
           (std::string_view(a.route) == std::string_view(b.route) &&
            std::string_view(a.method) < std::string_view(b.method));
  }
};

struct Histogram {
  std::array<std::atomic<uint64_t>, kBuckets.size()> buckets{};  // not cumulative
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> sum_ns{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
};

struct Named {
  std::unique_ptr<Gauge> gauge;
  std::string help;
  bool counter = false;
};

void AppendDouble(std::string& out, double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  out.append(buf, r.ptr);
}

void AppendLabelValue(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void AppendHelp(std::string& out, std::string_view name, std::string_view help,
                std::string_view type) {
  out += "# HELP ";
  out += name;
  out.push_back(' ');
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  out += "\n# TYPE ";
  out += name;
  out.push_back(' ');
  out += type;
  out.push_back('\n');
}

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

struct Metrics::Impl {
  mutable std::shared_mutex mu;
  std::map<RequestKey, std::unique_ptr<std::atomic<uint64_t>>, RequestKeyLess> requests;
  std::map<PairKey, std::unique_ptr<Histogram>, PairKeyLess> durations;
  std::map<std::string, Named, std::less<>> named;

  Gauge& GetNamed(std::string_view name, std::string_view help, bool counter) {
    ATCR_CHECK(IsMetricName(name));
    {
      std::shared_lock lock(mu);
      if (auto it = named.find(name); it != named.end()) return *it->second.gauge;
    }
    std::unique_lock lock(mu);
    auto [it, inserted] = named.try_emplace(std::string(name));
    if (inserted) {
      it->second.gauge = std::make_unique<Gauge>();
      it->second.help = std::string(help);
      it->second.counter = counter;
    }
    return *it->second.gauge;
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::ObserveRequest(std::string_view route, std::string_view method, int status,
                             double seconds, uint64_t bytes_in, uint64_t bytes_out) {
  std::atomic<uint64_t>* counter = nullptr;
  Histogram* hist = nullptr;
  {
    std::shared_lock lock(impl_->mu);
    if (auto it = impl_->requests.find(RequestKeyView{route, method, status});
        it != impl_->requests.end()) {
      counter = it->second.get();
    }
    if (auto it = impl_->durations.find(PairKeyView{route, method});
        it != impl_->durations.end()) {
      hist = it->second.get();
    }
  }
  if (!counter || !hist) {
    std::unique_lock lock(impl_->mu);
    if (!counter) {
      auto& slot = impl_->requests[RequestKey{std::string(route), std::string(method), status}];
      if (!slot) slot = std::make_unique<std::atomic<uint64_t>>(0);
      counter = slot.get();
    }
    if (!hist) {
      auto& slot = impl_->durations[PairKey{std::string(route), std::string(method)}];
      if (!slot) slot = std::make_unique<Histogram>();
      hist = slot.get();
    }
  }
  counter->fetch_add(1, std::memory_order_relaxed);
  if (seconds < 0) seconds = 0;
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  if (b < kBuckets.size()) hist->buckets[b].fetch_add(1, std::memory_order_relaxed);
  hist->count.fetch_add(1, std::memory_order_relaxed);
  hist->sum_ns.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  hist->bytes_in.fetch_add(bytes_in, std::memory_order_relaxed);
  hist->bytes_out.fetch_add(bytes_out, std::memory_order_relaxed);
}

Gauge& Metrics::GetGauge(std::string_view name, std::string_view help) {
  return impl_->GetNamed(name, help, false);
}

Gauge& Metrics::GetCounter(std::string_view name, std::string_view help) {
  return impl_->GetNamed(name, help, true);
}

std::string Metrics::Render() const {
  std::string out;
  out.reserve(4096);
  std::shared_lock lock(impl_->mu);

  AppendHelp(out, "atcr_http_requests_total", "HTTP requests by route, method and status.",
             "counter");
  for (const auto& [k, v] : impl_->requests) {
    out += "atcr_http_requests_total{route=";
    AppendLabelValue(out, k.route);
    out += ",method=";
    AppendLabelValue(out, k.method);
    out += ",status=\"";
    out += std::to_string(k.status);
    out += "\"} ";
    out += std::to_string(v->load(std::memory_order_relaxed));
    out.push_back('\n');
  }

  AppendHelp(out, "atcr_http_request_duration_seconds",
             "Time from the request head to the last response byte.", "histogram");
  for (const auto& [k, h] : impl_->durations) {
    std::string labels = "route=";
    AppendLabelValue(labels, k.route);
    labels += ",method=";
    AppendLabelValue(labels, k.method);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h->buckets[i].load(std::memory_order_relaxed);
      out += "atcr_http_request_duration_seconds_bucket{";
      out += labels;
      out += ",le=\"";
      AppendDouble(out, kBuckets[i]);
      out += "\"} ";
      out += std::to_string(cumulative);
      out.push_back('\n');
    }
    // Read count after the buckets so +Inf is never below the last finite bucket.
    uint64_t count = std::max(cumulative, h->count.load(std::memory_order_relaxed));
    out += "atcr_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
           std::to_string(count) + "\n";
    out += "atcr_http_request_duration_seconds_sum{" + labels + "} ";
    AppendDouble(out, static_cast<double>(h->sum_ns.load(std::memory_order_relaxed)) / 1e9);
    out += "\natcr_http_request_duration_seconds_count{" + labels + "} " +
           std::to_string(count) + "\n";
  }

  AppendHelp(out, "atcr_http_bytes_received_total", "Request bytes received (head and body), by route.",
             "counter");
  std::string route_label;
  for (const auto& [k, h] : impl_->durations) {
    route_label.clear();
    AppendLabelValue(route_label, k.route);
    out += "atcr_http_bytes_received_total{route=" + route_label + ",method=";
    AppendLabelValue(out, k.method);
    out += "} " + std::to_string(h->bytes_in.load(std::memory_order_relaxed)) + "\n";
  }
  AppendHelp(out, "atcr_http_bytes_sent_total", "Response bytes sent (head and body), by route.",
             "counter");
  for (const auto& [k, h] : impl_->durations) {
    route_label.clear();
    AppendLabelValue(route_label, k.route);
    out += "atcr_http_bytes_sent_total{route=" + route_label + ",method=";
    AppendLabelValue(out, k.method);
    out += "} " + std::to_string(h->bytes_out.load(std::memory_order_relaxed)) + "\n";
  }

  for (const auto& [name, n] : impl_->named) {
    AppendHelp(out, name, n.help, n.counter ? "counter" : "gauge");
    out += name;
    out.push_back(' ');
    out += std::to_string(n.gauge->value());
    out.push_back('\n');
  }
  return out;
}

}  // namespace atcr::net
