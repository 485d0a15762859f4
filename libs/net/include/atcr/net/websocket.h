// WebSocket (RFC 6455) connections for atcr: the server side is a route whose handler returns
// Response::WebSocketUpgrade(session) (used by the PDS for com.atproto.sync.subscribeRepos);
// the client side is ConnectWebSocket (tests, relays, tools). No Beast type appears here.
//
// Server side:
//   router.Add(Method::kGet, XrpcPath("com.atproto.sync.subscribeRepos"),
//              [](Request& req) -> Task<Response> {
//                if (!IsWebSocketUpgrade(req)) co_return XrpcErrorResponse(400, ...);
//                auto cursor = req.Query("cursor");     // validate first; errors stay HTTP
//                co_return Response::WebSocketUpgrade([cursor](WebSocket& ws) -> Task<void> {
//                  while (ws.is_open()) { ... co_await ws.SendBinary(frame) ... }
//                });
//              });
// After the handler returns, the server completes the handshake with the original request
// and runs the session on the connection's coroutine; when the session returns the server
// closes the WebSocket (1000, or 1011 if the session threw). A handler that returns an
// upgrade for a request without `Upgrade: websocket` gets a 400 sent in its place (check
// IsWebSocketUpgrade(req) to answer something else). Server::Stop() sends a close frame
// (1001) to every open WebSocket: pending and later Send/Receive fail, is_open() turns false,
// and the session is expected to return soon after (it is cut off after drain_timeout).
//
// Threading: each WebSocket belongs to one strand; every method may be called from any
// coroutine (it hops to that strand and back). One background reader per connection answers
// pings and close frames and queues incoming messages even when nobody calls Receive, so a
// peer that goes away is noticed (is_open() false, Receive kUnavailable) while the session
// only writes. At most one Send (SendBinary/SendText) and one Receive may be outstanding at a
// time, but the two may run concurrently, e.g. a writer loop and a coroutine the session
// spawned that awaits Receive(); a second concurrent Send or Receive fails with
// kFailedPrecondition. A session must not return while a coroutine it spawned can still call
// the WebSocket (the object dies with the session); after Close() or the peer leaving,
// Receive() returns promptly, which makes that easy to arrange.
//
// Timeouts: ping after half of the idle timeout without traffic from the peer, close when the
// whole idle timeout passes silently (so a peer that stops reading is dropped too); the
// opening and closing handshakes are bounded as well.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/net/http.h"

namespace atcr::net {

struct WebSocketMessage {
  bool binary = true;
  std::string data;
};

class WebSocket {  // one open connection, server or client side
 public:
  virtual ~WebSocket() = default;
  // One message each; returns when it is handed to the kernel. kUnavailable once the
  // connection is closed or failed (a send racing with the peer leaving may fail although its
  // bytes went out).
  virtual Task<Result<void>> SendBinary(ByteSpan data) = 0;
  virtual Task<Result<void>> SendText(std::string_view data) = 0;
  // The next message (queued ones are delivered even after the peer closed); kUnavailable
  // once the peer closed or the connection failed; kResourceExhausted when the peer sent a
  // message over the limit (the connection is then closed with 1009).
  virtual Task<Result<WebSocketMessage>> Receive() = 0;
  // Close handshake with code and reason (reason cut to 123 bytes); returns when it is done,
  // failed or timed out. Idempotent.
  virtual Task<void> Close(uint16_t code = 1000, std::string reason = {}) = 0;
  virtual bool is_open() const = 0;
  virtual const std::string& remote() const = 0;  // "ip:port" (server) or the URL (client)
};

// WebSocketSession (the function a handler hands to Response::WebSocketUpgrade) is declared in
// http.h.

// GET with `Connection: upgrade` and `Upgrade: websocket` (tokens, case-insensitive).
bool IsWebSocketUpgrade(const Request& req);

struct WebSocketClientOptions {
  uint64_t max_message_bytes = 16 << 20;  // larger incoming messages: kResourceExhausted
  std::chrono::milliseconds connect_timeout{10000};  // resolve + connect + TLS + handshake
  Headers headers;  // extra handshake headers (Authorization, User-Agent, ...)
  // 0: none. Otherwise ping after half of it without traffic and close after all of it.
  std::chrono::milliseconds idle_timeout{0};
  // wss: extra trusted CAs (PEM file) besides the system store; verification on by default.
  std::string tls_ca_file;
};

// ws:// or wss:// URL with path and query. Errors: kInvalidArgument (URL),
// kUnavailable (DNS, connect, TLS, handshake), kDeadlineExceeded (connect_timeout);
// a server answering the handshake with an HTTP error gives the error XrpcErrorFromResponse
// derives from its status and body (e.g. 400 -> kInvalidArgument with the XRPC error name).
// Call from a coroutine; the connection lives on a strand of the caller's executor and must
// be destroyed before that executor's io_context (destroying it closes it in the background).
Task<Result<std::unique_ptr<WebSocket>>> ConnectWebSocket(std::string url,
                                                          WebSocketClientOptions options);
// The same with default options (no default argument: it would be a temporary inside the
// caller's co_await expression, the GCC 12 pitfall).
Task<Result<std::unique_ptr<WebSocket>>> ConnectWebSocket(std::string url);

}  // namespace atcr::net
