// FirehoseWatcher: follows com.atproto.sync.subscribeRepos of PDSes (one WebSocket per PDS
// endpoint, on its own thread) and reports every io.atcr.* record that was created, updated
// or deleted, and every #identity event, so the AppView can drop cached tags, manifests,
// profiles and resolved identities that changed behind its back (another AppView, a client
// writing records directly). Reconnects with backoff and resumes from the last seq it saw.
// Thread-safe; callbacks run on the watcher's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace atcr::appview {

struct FirehoseWatcherOptions {
  std::string collection_prefix = "io.atcr.";
  std::chrono::milliseconds min_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  std::string tls_ca_file;
};

class FirehoseWatcher {
 public:
  // did, collection, rkey, new record CID ("" for a delete).
  using OnRecord = std::function<void(const std::string& did, std::string_view collection,
                                      std::string_view rkey, std::string_view cid)>;
  using OnIdentity = std::function<void(const std::string& did)>;

  FirehoseWatcher(OnRecord on_record, OnIdentity on_identity, FirehoseWatcherOptions options = {});
  ~FirehoseWatcher();  // Stop()
  FirehoseWatcher(const FirehoseWatcher&) = delete;
  FirehoseWatcher& operator=(const FirehoseWatcher&) = delete;

  // Subscribes to the PDS at this http(s) base URL, unless already subscribed.
  void Watch(const std::string& pds_endpoint);
  // Closes every subscription and joins the thread. Idempotent.
  void Stop();

  uint64_t frames() const;       // frames received across all subscriptions
  size_t connected() const;      // subscriptions with an open socket right now

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// ws(s)://host/xrpc/com.atproto.sync.subscribeRepos for an http(s) base URL.
std::string SubscribeReposUrl(std::string_view pds_endpoint);

}  // namespace atcr::appview
