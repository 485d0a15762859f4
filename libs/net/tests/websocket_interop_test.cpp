// WebSocket interop with node's `ws` package (tests/peers/node_modules/ws): a `ws` client
// against our Server, and our ConnectWebSocket against a `ws` server. Skipped when node or the
// package is missing (tests/peers/bootstrap-npm installs it).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include "atcr/net/server.h"
#include "atcr/net/websocket.h"
#include "coro_support.h"

namespace atcr::net {
namespace {

using testing::RunSync;

const std::string kWsModule = std::string(ATCR_SOURCE_DIR) + "/tests/peers/node_modules/ws";

bool HaveNodeWs() {
  return std::filesystem::exists(kWsModule) && std::system("node --version >/dev/null 2>&1") == 0;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs `node -e script args...` and returns its stdout.
std::string RunNode(const std::string& script, const std::string& args) {
  std::string cmd = "node -e " + ShellQuote(script) + " " + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(WebSocketInterop, NodeWsClientTalksToOurServer) {
  if (!HaveNodeWs()) GTEST_SKIP() << "node or " << kWsModule << " missing";
  Router r;
  r.Add(Method::kGet, "/echo", [](Request& req) -> Task<Response> {
    std::string greeting = "hello " + req.Query("name").value_or("?");
    co_return Response::WebSocketUpgrade([greeting](WebSocket& ws) -> Task<void> {
      auto hello = co_await ws.SendText(greeting);
      if (!hello.ok()) co_return;
      for (;;) {
        auto m = co_await ws.Receive();
        if (!m.ok()) co_return;
        Result<void> sent = Ok();
        if (m->binary) {
          sent = co_await ws.SendBinary(AsBytes(m->data));
        } else {
          sent = co_await ws.SendText(m->data);
        }
        if (!sent.ok()) co_return;
      }
    });
  });
  ServerOptions options;
  options.threads = 1;
  options.access_log = false;
  Server server(std::move(options), std::move(r));
  ASSERT_TRUE(server.Start().ok());
  const std::string script = R"JS(
const WebSocket = require(process.argv[1]);
const ws = new WebSocket(process.argv[2]);
const big = Buffer.alloc(200000, 7);
const got = [];
ws.on('open', () => { ws.send(Buffer.from([0, 1, 2, 255])); ws.send('h\u00e9llo'); ws.send(big); });
ws.on('message', (data, isBinary) => {
  const b = Buffer.from(data);
  got.push((isBinary ? 'b:' : 't:') + (b.length > 1000 ? 'big' + b.length + ':' + b.equals(big) : b.toString('hex')));
  if (got.length === 4) ws.close(1000, 'done');
});
ws.on('close', (code) => { console.log(JSON.stringify({ got, code })); process.exit(0); });
ws.on('error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });
setTimeout(() => { console.log(JSON.stringify({ error: 'timeout', got })); process.exit(2); }, 20000);
)JS";
  std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/echo?name=node";
  std::string out = RunNode(script, ShellQuote(kWsModule) + " " + ShellQuote(url));
  auto v = boost::json::parse(out);
  ASSERT_FALSE(v.as_object().contains("error")) << out;
  const auto& got = v.at("got").as_array();
  ASSERT_EQ(got.size(), 4u) << out;
  EXPECT_EQ(got[0].as_string(), "t:68656c6c6f206e6f6465");  // "hello node"
  EXPECT_EQ(got[1].as_string(), "b:000102ff");
  EXPECT_EQ(got[2].as_string(), "t:68c3a96c6c6f");          // "héllo"
  EXPECT_EQ(got[3].as_string(), "b:big200000:true");
  EXPECT_EQ(v.at("code").as_int64(), 1000);
  server.Stop();
}

TEST(WebSocketInterop, OurClientTalksToANodeWsServer) {
  if (!HaveNodeWs()) GTEST_SKIP() << "node or " << kWsModule << " missing";
  // Prints its port, greets with the request URL and auth header, echoes, and exits when the
  // client closes (printing the close code and reason).
  const std::string script = R"JS(
const { WebSocketServer } = require(process.argv[1]);
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('listening', () => console.log(wss.address().port));
wss.on('connection', (ws, req) => {
  ws.send('hello ' + req.url + ' ' + (req.headers['authorization'] || '-'));
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code, reason) => { console.log('closed ' + code + ' ' + reason); process.exit(0); });
});
setTimeout(() => process.exit(2), 20000);
)JS";
  std::string cmd = "node -e " + ShellQuote(script) + " " + ShellQuote(kWsModule);
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[256] = {};
  ASSERT_NE(fgets(line, sizeof line, p), nullptr);
  const int port = std::atoi(line);
  ASSERT_GT(port, 0) << line;

  auto run = [&]() -> Task<void> {
    WebSocketClientOptions opts;
    opts.headers.Add("Authorization", "Bearer t0k");
    std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/xrpc/sub?cursor=5";
    auto ws = co_await ConnectWebSocket(std::move(url), std::move(opts));
    EXPECT_TRUE(ws.ok()) << ws.error().ToString();
    if (!ws.ok()) co_return;
    auto hello = co_await (*ws)->Receive();
    EXPECT_TRUE(hello.ok());
    if (hello.ok()) {
      EXPECT_FALSE(hello->binary);
      EXPECT_EQ(hello->data, "hello /xrpc/sub?cursor=5 Bearer t0k");
    }
    std::string big(300000, 'z');
    EXPECT_TRUE((co_await (*ws)->SendBinary(AsBytes(big))).ok());
    auto echo = co_await (*ws)->Receive();
    EXPECT_TRUE(echo.ok() && echo->binary && echo->data == big);
    co_await (*ws)->Close(4000, "bye");
  };
  RunSync(run());
  std::string rest;
  while (fgets(line, sizeof line, p) != nullptr) rest += line;
  pclose(p);
  EXPECT_EQ(rest, "closed 4000 bye\n");
}

}  // namespace
}  // namespace atcr::net
