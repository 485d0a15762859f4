#include "atcr/appview/firehose_watcher.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "atcr/appview/pds_client.h"
#include "atcr/atproto/firehose.h"
#include "atcr/atproto/syntax.h"
#include "atcr/net/websocket.h"

namespace atcr::appview {

std::string SubscribeReposUrl(std::string_view pds_endpoint) {
  std::string base = NormalizeBaseUrl(pds_endpoint);
  if (base.starts_with("https://")) {
    base = "wss://" + base.substr(8);
  } else if (base.starts_with("http://")) {
    base = "ws://" + base.substr(7);
  }
  return base + "/xrpc/com.atproto.sync.subscribeRepos";
}

struct FirehoseWatcher::Impl : std::enable_shared_from_this<FirehoseWatcher::Impl> {
  OnRecord on_record;
  OnIdentity on_identity;
  FirehoseWatcherOptions options;

  boost::asio::io_context ioc;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
  std::thread thread;
  std::future<void> finished;

  std::mutex mu;
  bool stopping = false;
  std::set<std::string> endpoints;
  std::set<net::WebSocket*> sockets;
  std::set<boost::asio::steady_timer*> timers;
  std::atomic<uint64_t> frames{0};

  void Handle(const std::string& message) {
    auto frame = atproto::DecodeFrame(AsBytes(message));
    if (!frame.ok()) {
      spdlog::debug("appview firehose: undecodable frame: {}", frame.error().message);
      return;
    }
    if (frame->header.t == "#commit") {
      auto ev = atproto::CommitEvent::FromValue(frame->body);
      if (!ev.ok()) return;
      for (const atproto::RecordOp& op : ev->ops) {
        auto path = atproto::SplitRepoPath(op.path);
        if (!path.ok() || !path->collection.starts_with(options.collection_prefix)) continue;
        std::string cid = op.cid ? op.cid->ToString() : std::string();
        on_record(ev->repo, path->collection, path->rkey, cid);
      }
    } else if (frame->header.t == "#identity") {
      if (const std::string* did = frame->body.FindString("did")) on_identity(*did);
    }
  }

  net::Task<void> Subscribe(std::string endpoint) {
    auto self = shared_from_this();
    std::string base = SubscribeReposUrl(endpoint);
    std::optional<int64_t> cursor;
    auto backoff = options.min_backoff;
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping) co_return;
      }
      std::string url = base;
      if (cursor) url += "?cursor=" + std::to_string(*cursor);
      net::WebSocketClientOptions ws_opts;
      ws_opts.tls_ca_file = options.tls_ca_file;
      ws_opts.idle_timeout = std::chrono::seconds(120);
      auto ws = co_await net::ConnectWebSocket(std::move(url), std::move(ws_opts));
      if (ws.ok()) {
        bool registered = false;
        {
          std::lock_guard lock(mu);
          if (!stopping) {
            sockets.insert(ws->get());
            registered = true;
          }
        }
        if (registered) {
          spdlog::info("appview firehose: following {}", endpoint);
          backoff = options.min_backoff;
          for (;;) {
            auto msg = co_await (*ws)->Receive();
            if (!msg.ok()) break;
            ++frames;
            Handle(msg->data);
            auto frame = atproto::DecodeFrame(AsBytes(msg->data));
            if (frame.ok()) {
              if (auto seq = frame->body.FindInt("seq")) cursor = *seq;
            }
          }
          {
            std::lock_guard lock(mu);
            sockets.erase(ws->get());
          }
        }
        co_await (*ws)->Close();
      } else {
        spdlog::debug("appview firehose: {}: {}", endpoint, ws.error().message);
      }
      boost::asio::steady_timer timer(ioc);
      {
        std::lock_guard lock(mu);
        if (stopping) co_return;
        timers.insert(&timer);
      }
      timer.expires_after(backoff);
      boost::system::error_code ec;
      co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      {
        std::lock_guard lock(mu);
        timers.erase(&timer);
      }
      backoff = std::min(backoff * 2, options.max_backoff);
    }
  }
};

FirehoseWatcher::FirehoseWatcher(OnRecord on_record, OnIdentity on_identity,
                                 FirehoseWatcherOptions options)
    : impl_(std::make_shared<Impl>()) {
  impl_->on_record = std::move(on_record);
  impl_->on_identity = std::move(on_identity);
  impl_->options = std::move(options);
  impl_->guard.emplace(impl_->ioc.get_executor());
  auto impl = impl_;
  std::promise<void> done;
  impl_->finished = done.get_future();
  impl_->thread = std::thread([impl, done = std::move(done)]() mutable {
    impl->ioc.run();
    done.set_value();
  });
}

FirehoseWatcher::~FirehoseWatcher() { Stop(); }

void FirehoseWatcher::Watch(const std::string& pds_endpoint) {
  std::string endpoint = NormalizeBaseUrl(pds_endpoint);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping || !impl_->endpoints.insert(endpoint).second) return;
  }
  auto impl = impl_;
  boost::asio::co_spawn(impl->ioc, impl->Subscribe(endpoint), boost::asio::detached);
}

void FirehoseWatcher::Stop() {
  auto impl = impl_;
  {
    std::lock_guard lock(impl->mu);
    if (impl->stopping) return;
    impl->stopping = true;
  }
  // Wake every subscription on the watcher's thread: close sockets, cancel backoff timers.
  boost::asio::post(impl->ioc, [impl] {
    std::lock_guard lock(impl->mu);
    for (boost::asio::steady_timer* t : impl->timers) t->cancel();
    for (net::WebSocket* ws : impl->sockets) {
      boost::asio::co_spawn(impl->ioc, ws->Close(1001, "appview stopping"), boost::asio::detached);
    }
  });
  impl->guard.reset();
  // Subscriptions end once their sockets close; a connection attempt in flight is bounded by
  // its connect timeout. Past that, stop the loop outright.
  if (impl->finished.wait_for(std::chrono::seconds(12)) != std::future_status::ready) {
    impl->ioc.stop();
  }
  if (impl->thread.joinable()) impl->thread.join();
}

uint64_t FirehoseWatcher::frames() const { return impl_->frames.load(); }

size_t FirehoseWatcher::connected() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sockets.size();
}

}  // namespace atcr::appview
