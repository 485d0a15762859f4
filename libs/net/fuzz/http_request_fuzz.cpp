// libFuzzer target for the HTTP/1.1 server's request path: the input is written as-is to a
// real Server on a loopback socket (head parsing and limits, target and percent-decoding,
// chunked and fixed bodies through BodyReader, 100-continue, pipelining, keep-alive, the
// WebSocket upgrade and frames afterwards), then the client half-closes and reads the answer
// until the server closes. Crashes, sanitizer reports and hangs (the server must close every
// connection once the input ends) are findings.
// Build with -DATCR_FUZZ=ON and clang; run: build-fuzz/bin/http_request_fuzz corpus/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "atcr/net/server.h"
#include "atcr/net/websocket.h"

namespace {

using atcr::net::Method;
using atcr::net::Request;
using atcr::net::Response;
using atcr::net::Task;

atcr::net::Server* StartServer() {
  spdlog::set_level(spdlog::level::off);
  atcr::net::Router r;
  r.Add(Method::kGet, "/x", [](Request& req) -> Task<Response> {
    co_return Response::Text(200, req.path + "?" + req.Query("q").value_or(""));
  });
  r.Add(Method::kPost, "/echo", [](Request& req) -> Task<Response> {
    auto body = co_await req.body->ReadAll(64 * 1024);
    if (!body.ok()) co_return Response::Text(400, body.error().message);
    co_return Response::Text(200, std::move(*body));
  });
  // Small reads, and a handler that leaves part of the body unread.
  r.AddPrefix("/partial/", [](Request& req) -> Task<Response> {
    uint8_t buf[7];
    for (int i = 0; i < 3; ++i) {
      auto n = co_await req.body->Read(buf);
      if (!n.ok() || *n == 0) break;
    }
    co_return Response::Empty(204);
  });
  r.Add(Method::kGet, "/ws", [](Request&) -> Task<Response> {
    co_return Response::WebSocketUpgrade(
        [](atcr::net::WebSocket& ws) -> Task<void> {
          for (;;) {
            auto m = co_await ws.Receive();
            if (!m.ok()) co_return;
            auto sent = co_await ws.SendText(m->data);
            if (!sent.ok()) co_return;
          }
        },
        4096);
  });
  atcr::net::ServerOptions options;
  options.threads = 1;
  options.access_log = false;
  options.max_header_bytes = 4096;
  options.header_timeout = std::chrono::seconds(3);
  options.idle_timeout = std::chrono::seconds(3);
  options.websocket_idle_timeout = std::chrono::seconds(3);
  auto* server = new atcr::net::Server(std::move(options), std::move(r));
  if (!server->Start().ok()) std::abort();
  return server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static atcr::net::Server* server = StartServer();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) std::abort();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(server->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
  // Every server deadline is 3 s; a connection still open after 20 s is a hang.
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  auto send_all = [fd](const uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;  // the server may close early (431, 400, limits)
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  };
  char buf[65536];
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t head_end = input.find("\r\n\r\n");
  bool sent_all = false;
  if (input.starts_with("GET /ws ") && head_end != std::string_view::npos) {
    // A WebSocket client waits for the 101 before sending frames: send the head, wait for
    // the answer's head, then the rest as frames.
    bool ok = send_all(data, head_end + 4);
    std::string answer;
    while (ok && answer.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        ok = false;
        break;
      }
      answer.append(buf, static_cast<size_t>(n));
    }
    if (ok) send_all(data + head_end + 4, size - head_end - 4);
    sent_all = true;
  }
  if (!sent_all) send_all(data, size);
  ::shutdown(fd, SHUT_WR);
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) __builtin_trap();  // hang
    break;  // EOF or reset
  }
  ::close(fd);
  return 0;
}
