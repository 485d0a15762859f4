// WebSocketCore: one Beast WebSocket stream plus its background reader, shared by the server
// (server.cpp, over the connection's socket) and the client (websocket.cpp, plain or TLS).
// Everything runs on the stream's executor, a strand: the public WebSocket methods hop there
// with co_spawn. The reader keeps one read pending at all times (Beast's ping/idle timer and
// close handshake rely on it) and hands messages to Receive through a small queue; while the
// queue is full it stops reading, so a peer flooding a session that never calls Receive gets
// TCP backpressure and, eventually, the idle timeout.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "atcr/net/websocket.h"

namespace atcr::net::internal {

template <class Stream>
class WebSocketCore : public std::enable_shared_from_this<WebSocketCore<Stream>> {
 public:
  using WsStream = boost::beast::websocket::stream<Stream>;

  template <class... Args>
  explicit WebSocketCore(std::string remote, Args&&... args)
      : ws_(std::forward<Args>(args)...),
        msg_ready_(ws_.get_executor()),
        space_ready_(ws_.get_executor()),
        reader_done_timer_(ws_.get_executor()),
        remote_(std::move(remote)) {}

  WsStream& stream() { return ws_; }
  boost::asio::any_io_executor executor() { return ws_.get_executor(); }
  const std::string& remote() const { return remote_; }
  bool is_open() const { return open_.load(); }
  void set_max_message_bytes(uint64_t n) {
    max_message_bytes_ = n;
    ws_.read_message_max(n);
  }

  // After a successful handshake, on the strand.
  void StartReader() {
    open_ = true;
    reader_running_ = true;
    boost::asio::co_spawn(ws_.get_executor(), ReadLoop(this->shared_from_this()),
                          boost::asio::detached);
  }

  // Each runs on the strand, holding the core alive.
  static Task<Result<void>> Send(std::shared_ptr<WebSocketCore> self, bool binary, ByteSpan data) {
    if (!self->open_ || self->closing_) {
      co_return Error(ErrorCode::kUnavailable, "WebSocket to " + self->remote_ + " is closed");
    }
    if (self->sending_) {
      co_return Error(ErrorCode::kFailedPrecondition,
                      "another Send is in progress on the WebSocket to " + self->remote_);
    }
    self->sending_ = true;
    self->ws_.binary(binary);
    auto [ec, n] = co_await self->ws_.async_write(boost::asio::buffer(data.data(), data.size()),
                                                  kUseTuple);
    self->sending_ = false;
    if (ec) {
      co_return Error(ErrorCode::kUnavailable,
                      "sending on the WebSocket to " + self->remote_ + ": " + ec.message());
    }
    co_return Ok();
  }

  static Task<std::optional<Result<WebSocketMessage>>> Receive(std::shared_ptr<WebSocketCore> self) {
    if (self->receiving_) {
      co_return Error(ErrorCode::kFailedPrecondition,
                      "another Receive is in progress on the WebSocket to " + self->remote_);
    }
    self->receiving_ = true;
    while (self->queue_.empty() && self->reader_running_) {
      self->msg_ready_.expires_at(boost::asio::steady_timer::time_point::max());
      co_await self->msg_ready_.async_wait(kUseTuple);
    }
    self->receiving_ = false;
    if (self->queue_.empty()) co_return self->final_error_;
    WebSocketMessage m = std::move(self->queue_.front());
    self->queue_.pop_front();
    self->queued_bytes_ -= m.data.size();
    self->space_ready_.cancel();
    co_return m;
  }

  // Close handshake (bounded by the handshake timeout), then waits for the reader to end.
  static Task<void> Close(std::shared_ptr<WebSocketCore> self, uint16_t code, std::string reason) {
    if (self->open_ && !self->closing_) {
      self->closing_ = true;
      if (reason.size() > 123) reason.resize(123);  // a control frame payload is <= 125 bytes
      boost::beast::websocket::close_reason cr(static_cast<boost::beast::websocket::close_code>(code),
                                               reason);
      auto [ec] = co_await self->ws_.async_close(cr, kUseTuple);
      if (ec) self->ForceClose();
      self->open_ = false;
      self->space_ready_.cancel();  // a reader paused on a full queue sees the close
    }
    while (self->reader_running_) {
      self->reader_done_timer_.expires_at(boost::asio::steady_timer::time_point::max());
      co_await self->reader_done_timer_.async_wait(kUseTuple);
    }
  }

  // Closes the socket; pending operations fail. On the strand.
  void ForceClose() {
    boost::beast::error_code ec;
    boost::beast::get_lowest_layer(ws_).close(ec);
    open_ = false;
  }

 private:
  static constexpr auto kUseTuple = boost::asio::as_tuple(boost::asio::use_awaitable);
  static constexpr size_t kMaxQueuedMessages = 64;
  static constexpr size_t kMaxQueuedBytes = 1 << 20;

  static Task<void> ReadLoop(std::shared_ptr<WebSocketCore> self) {
    namespace websocket = boost::beast::websocket;
    for (;;) {
      while (!self->queue_.empty() && (self->queue_.size() >= kMaxQueuedMessages ||
                                       self->queued_bytes_ >= kMaxQueuedBytes) &&
             !self->closing_) {
        self->space_ready_.expires_at(boost::asio::steady_timer::time_point::max());
        co_await self->space_ready_.async_wait(kUseTuple);
      }
      boost::beast::flat_buffer buffer;
      auto [ec, n] = co_await self->ws_.async_read(buffer, kUseTuple);
      if (ec) {
        if (ec == websocket::error::message_too_big || ec == boost::beast::http::error::body_limit) {
          self->final_error_ = ResourceExhausted(
              "WebSocket message from " + self->remote_ + " exceeds the limit of " +
              std::to_string(self->max_message_bytes_) + " bytes");
        } else if (ec == websocket::error::closed) {
          const auto& r = self->ws_.reason();
          self->final_error_ = Error(
              ErrorCode::kUnavailable,
              "WebSocket to " + self->remote_ + " closed (" + std::to_string(r.code) +
                  (r.reason.empty() ? std::string() : " " + std::string(r.reason.c_str())) + ")");
        } else {
          self->final_error_ =
              Error(ErrorCode::kUnavailable, "WebSocket to " + self->remote_ + ": " + ec.message());
        }
        break;
      }
      WebSocketMessage m;
      m.binary = !self->ws_.got_text();
      m.data = boost::beast::buffers_to_string(buffer.data());
      self->queued_bytes_ += m.data.size();
      self->queue_.push_back(std::move(m));
      self->msg_ready_.cancel();
    }
    self->open_ = false;
    self->reader_running_ = false;
    self->msg_ready_.cancel();
    self->reader_done_timer_.cancel();
  }

  WsStream ws_;
  boost::asio::steady_timer msg_ready_;          // Receive waits here for the queue
  boost::asio::steady_timer space_ready_;        // the reader waits here for queue space
  boost::asio::steady_timer reader_done_timer_;  // Close waits here for the reader
  std::string remote_;
  std::deque<WebSocketMessage> queue_;
  size_t queued_bytes_ = 0;
  uint64_t max_message_bytes_ = 0;
  Error final_error_{ErrorCode::kUnavailable, "WebSocket closed"};
  std::atomic<bool> open_{false};
  bool reader_running_ = false;
  bool closing_ = false;
  bool sending_ = false;
  bool receiving_ = false;
};

// The WebSocket handed to sessions and clients: each call hops to the core's strand.
template <class Stream>
class WebSocketHandle final : public WebSocket {
 public:
  using Core = WebSocketCore<Stream>;
  explicit WebSocketHandle(std::shared_ptr<Core> core, bool close_on_destroy)
      : core_(std::move(core)), close_on_destroy_(close_on_destroy) {}
  ~WebSocketHandle() override {
    if (close_on_destroy_ && core_->is_open()) {
      boost::asio::co_spawn(core_->executor(), Core::Close(core_, 1000, {}), boost::asio::detached);
    }
  }

  Task<Result<void>> SendBinary(ByteSpan data) override {
    auto op = boost::asio::co_spawn(core_->executor(), Core::Send(core_, true, data),
                                    boost::asio::use_awaitable);
    co_return co_await std::move(op);
  }
  Task<Result<void>> SendText(std::string_view data) override {
    auto op = boost::asio::co_spawn(core_->executor(), Core::Send(core_, false, AsBytes(data)),
                                    boost::asio::use_awaitable);
    co_return co_await std::move(op);
  }
  Task<Result<WebSocketMessage>> Receive() override {
    auto op = boost::asio::co_spawn(core_->executor(), Core::Receive(core_),
                                    boost::asio::use_awaitable);
    std::optional<Result<WebSocketMessage>> r = co_await std::move(op);
    co_return std::move(*r);
  }
  Task<void> Close(uint16_t code, std::string reason) override {
    auto op = boost::asio::co_spawn(core_->executor(), Core::Close(core_, code, std::move(reason)),
                                    boost::asio::use_awaitable);
    co_await std::move(op);
  }
  bool is_open() const override { return core_->is_open(); }
  const std::string& remote() const override { return core_->remote(); }

 private:
  std::shared_ptr<Core> core_;
  bool close_on_destroy_;
};

}  // namespace atcr::net::internal
