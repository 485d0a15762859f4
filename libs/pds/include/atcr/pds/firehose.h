// Firehose: com.atproto.sync.subscribeRepos for a RepoStore. Events are sequenced by the store
// in the same transaction as the commit they describe and handed to the Firehose right after
// COMMIT (in seq order); the Firehose keeps the recent encoded frames in memory and fans them
// out to WebSocket consumers. Each consumer has a bounded outbound queue: writers never block,
// and a consumer that falls behind by more than the bound is sent ConsumerTooSlow and closed.
// A cursor replays stored events with seq > cursor (from memory when recent, else SQLite),
// then switches to live without gap or duplicate. Thread-safe; Serve runs on the connection's
// coroutine and never blocks its thread (SQLite reads go through net::RunBlocking).
//
//   Firehose firehose(*store);                                // installs itself as listener
//   co_return Response::WebSocketUpgrade([&](WebSocket& ws) { return firehose.Serve(ws, c); });
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "atcr/net/http.h"
#include "atcr/net/websocket.h"
#include "atcr/pds/repo_store.h"

namespace atcr::pds {

struct FirehoseOptions {
  size_t ring_events = 20'000;           // recent frames kept in memory...
  size_t ring_bytes = 128 * 1024 * 1024;  // ...within this many bytes
  // Per consumer: frames queued but not yet written to its socket. Past this the consumer is
  // dropped (ConsumerTooSlow). The reference's default maxSubscriptionBuffer is 500.
  size_t max_queued_frames = 500;
  size_t max_queued_bytes = 64 * 1024 * 1024;
  // Replays start no earlier than this before now; an older cursor gets #info OutdatedCursor
  // (the reference's PDS_REPO_BACKFILL_LIMIT_MS default: one day).
  std::chrono::milliseconds backfill_window = std::chrono::hours(24);
  size_t replay_page = 500;  // events per SQLite read while replaying
};

class Firehose : public EventListener {
 public:
  explicit Firehose(RepoStore& store, FirehoseOptions options = {});
  ~Firehose() override;  // removes itself from the store; Stop() and drain sessions first
  Firehose(const Firehose&) = delete;
  Firehose& operator=(const Firehose&) = delete;

  // Serves one consumer until it goes away, is dropped, or Stop(). `cursor`: the last seq the
  // consumer processed (nullopt = live only). A cursor past the newest event gets the error
  // frame FutureCursor and a 1008 close, as the reference does.
  net::Task<void> Serve(net::WebSocket& ws, std::optional<int64_t> cursor);

  // Ends every session (they close with 1001) and refuses new ones.
  void Stop();

  size_t consumers() const;
  uint64_t dropped_consumers() const;
  int64_t head_seq() const;  // newest event published

  // EventListener (called by the store).
  void OnEvent(const SequencedEvent& event) override;
  void OnRepoEventsDeleted(std::string_view did) override;

 private:
  struct Consumer;
  // Under mu_: moves the ring's events after `after` (at most `limit`) into out; false when
  // the ring does not hold the event right after `after`.
  bool TakeFromRing(int64_t after, size_t limit, std::vector<SequencedEvent>* out) const;

  RepoStore& store_;
  FirehoseOptions options_;
  mutable std::mutex mu_;
  std::deque<SequencedEvent> ring_;
  size_t ring_bytes_ = 0;
  int64_t ring_floor_ = 1;  // every existing event with seq >= ring_floor_ is in ring_
  int64_t head_seq_ = 0;
  std::vector<std::shared_ptr<Consumer>> live_;
  size_t sessions_ = 0;
  uint64_t dropped_ = 0;
  bool stopping_ = false;
};

}  // namespace atcr::pds
