#include "atcr/pds/firehose.h"

#include <algorithm>
#include <string>

#include <spdlog/spdlog.h>

#include "atcr/atproto/firehose.h"
#include "atcr/base/time.h"
#include "atcr/net/signal.h"
#include "internal/repo_async.h"

namespace atcr::pds {

namespace {

constexpr size_t kRingChunk = 256;  // events taken from the ring per lock while catching up

Bytes InfoFrame(std::string_view name, std::string_view message) {
  atproto::Frame f;
  f.header.op = 1;
  f.header.t = "#info";
  cbor::Value::Map body;
  body["name"] = std::string(name);
  body["message"] = std::string(message);
  f.body = cbor::Value(std::move(body));
  return atproto::EncodeFrame(f);
}

// Sends an error frame and closes with 1008 and the error name, as the reference's stream
// server does for every XRPC error it yields.
// (string_view parameters: no temporaries with destructors in the callers' co_await.)
net::Task<void> SendErrorAndClose(net::WebSocket& ws, std::string_view error,
                                  std::string_view message) {
  Bytes frame = atproto::EncodeFrame(atproto::ErrorFrame(error, message));
  std::string reason(error);
  auto sent = co_await ws.SendBinary(frame);
  (void)sent;
  co_await ws.Close(1008, std::move(reason));
}

}  // namespace

struct Firehose::Consumer {
  net::Signal signal;
  std::deque<SequencedEvent> queue;  // guarded by Firehose::mu_
  size_t queued_bytes = 0;
  bool too_slow = false;
};

Firehose::Firehose(RepoStore& store, FirehoseOptions options)
    : store_(store), options_(std::move(options)) {
  // Not under mu_: the store publishes with its writer lock held and then takes mu_.
  int64_t last = store_.SetEventListener(this);
  std::lock_guard lock(mu_);
  head_seq_ = std::max(head_seq_, last);
  // Events after `last` are (or will be) in the ring: it holds everything from last + 1.
  ring_floor_ = std::max(ring_floor_, last + 1);
}

Firehose::~Firehose() { store_.SetEventListener(nullptr); }

void Firehose::OnEvent(const SequencedEvent& event) {
  std::lock_guard lock(mu_);
  head_seq_ = event.seq;
  ring_.push_back(event);
  ring_bytes_ += event.frame->size();
  while (!ring_.empty() &&
         (ring_.size() > options_.ring_events || ring_bytes_ > options_.ring_bytes)) {
    ring_bytes_ -= ring_.front().frame->size();
    ring_floor_ = ring_.front().seq + 1;
    ring_.pop_front();
  }
  for (const auto& c : live_) {
    if (c->too_slow) continue;
    if (c->queue.size() >= options_.max_queued_frames ||
        c->queued_bytes + event.frame->size() > options_.max_queued_bytes) {
      // Never wait for a consumer: drop it and let its session say why.
      c->too_slow = true;
      c->queue.clear();
      c->queued_bytes = 0;
      ++dropped_;
    } else {
      c->queue.push_back(event);
      c->queued_bytes += event.frame->size();
    }
    c->signal.Notify();
  }
}

void Firehose::OnRepoEventsDeleted(std::string_view did) {
  std::lock_guard lock(mu_);
  std::deque<SequencedEvent> kept;
  size_t bytes = 0;
  for (auto& e : ring_) {
    if (e.did == did) continue;
    bytes += e.frame->size();
    kept.push_back(std::move(e));
  }
  ring_ = std::move(kept);
  ring_bytes_ = bytes;
}

void Firehose::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  for (const auto& c : live_) c->signal.Notify();
}

size_t Firehose::consumers() const {
  std::lock_guard lock(mu_);
  return sessions_;
}

uint64_t Firehose::dropped_consumers() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

int64_t Firehose::head_seq() const {
  std::lock_guard lock(mu_);
  return head_seq_;
}

bool Firehose::TakeFromRing(int64_t after, size_t limit, std::vector<SequencedEvent>* out) const {
  if (after + 1 < ring_floor_) return false;
  auto it = std::upper_bound(ring_.begin(), ring_.end(), after,
                             [](int64_t s, const SequencedEvent& e) { return s < e.seq; });
  for (; it != ring_.end() && out->size() < limit; ++it) out->push_back(*it);
  return true;
}

net::Task<void> Firehose::Serve(net::WebSocket& ws, std::optional<int64_t> cursor) {
  auto consumer = std::make_shared<Consumer>();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      std::string reason = "server shutting down";
      co_await ws.Close(1001, std::move(reason));
      co_return;
    }
    ++sessions_;
  }
  struct Unregister {
    Firehose* self;
    std::shared_ptr<Consumer> consumer;
    ~Unregister() {
      std::lock_guard lock(self->mu_);
      --self->sessions_;
      std::erase(self->live_, consumer);
    }
  } unregister{this, consumer};

  int64_t last_sent = 0;
  bool live = false;
  if (!cursor) {
    std::lock_guard lock(mu_);
    last_sent = head_seq_;
    live_.push_back(consumer);
    live = true;
  } else {
    int64_t head = head_seq();
    if (*cursor > head) {
      co_await SendErrorAndClose(ws, "FutureCursor", "Cursor in the future.");
      co_return;
    }
    last_sent = *cursor;
    // A cursor older than the backfill window: say so, and start at the window's start.
    int64_t window_start = UnixMicros() -
        std::chrono::duration_cast<std::chrono::microseconds>(options_.backfill_window).count();
    auto next = co_await internal::Blocking([&] { return store_.NextEventAfter(last_sent); });
    if (next.ok() && next->has_value() && (*next)->second < window_start) {
      Bytes info = InfoFrame("OutdatedCursor",
                             "Requested cursor exceeded limit. Possibly missing events");
      auto sent = co_await ws.SendBinary(info);
      if (!sent.ok()) co_return;
      // Events published from here on are inside the window: never skip past them.
      int64_t head_before = head_seq();
      auto first = co_await internal::Blocking([&] { return store_.FirstEventSince(window_start); });
      if (first.ok() && first->has_value()) {
        last_sent = **first - 1;
      } else {
        last_sent = head_before;
      }
    }
  }

  // Catch up from the ring (recent events) or SQLite (older ones); go live, atomically with
  // respect to publishers, once nothing published is left to send.
  while (!live) {
    std::vector<SequencedEvent> batch;
    bool from_db = false;
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      if (last_sent >= head_seq_) {
        live_.push_back(consumer);
        live = true;
      } else if (TakeFromRing(last_sent, kRingChunk, &batch)) {
        if (batch.empty() || batch.back().seq >= head_seq_) {
          live_.push_back(consumer);
          live = true;
        }
      } else {
        from_db = true;
      }
    }
    if (from_db) {
      auto page = co_await internal::Blocking(
          [&] { return store_.ReadEvents(last_sent, options_.replay_page); });
      if (!page.ok()) {
        spdlog::warn("pds firehose: replay read failed: {}", page.error().ToString());
        co_await SendErrorAndClose(ws, "InternalServerError", "Internal Server Error");
        co_return;
      }
      if (page->empty()) {
        // Nothing stored after last_sent below the ring: those events were deleted.
        std::lock_guard lock(mu_);
        last_sent = std::max(last_sent, ring_floor_ - 1);
        continue;
      }
      batch = std::move(page).value();
    }
    for (const SequencedEvent& e : batch) {
      if (e.seq <= last_sent) continue;
      auto sent = co_await ws.SendBinary(*e.frame);
      if (!sent.ok()) co_return;
      last_sent = e.seq;
    }
  }

  while (true) {
    std::deque<SequencedEvent> frames;
    bool slow = false;
    bool stop = false;
    {
      std::lock_guard lock(mu_);
      frames.swap(consumer->queue);
      consumer->queued_bytes = 0;
      slow = consumer->too_slow;
      stop = stopping_;
    }
    if (stop) {
      std::string reason = "server shutting down";
      co_await ws.Close(1001, std::move(reason));
      co_return;
    }
    if (slow) {
      co_await SendErrorAndClose(ws, "ConsumerTooSlow", "Stream consumer too slow");
      co_return;
    }
    if (frames.empty()) {
      if (!ws.is_open()) co_return;
      co_await consumer->signal.Wait(std::chrono::seconds(1));
      continue;
    }
    for (const SequencedEvent& e : frames) {
      if (e.seq <= last_sent) continue;
      auto sent = co_await ws.SendBinary(*e.frame);
      if (!sent.ok()) co_return;
      last_sent = e.seq;
    }
  }
}

}  // namespace atcr::pds
