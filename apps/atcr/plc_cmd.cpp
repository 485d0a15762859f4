// `atcr plc serve`: the development PLC directory (in memory, or SQLite under --data), and
// `atcr plc create`: mints a did:plc (genesis op signed by a rotation key) and submits it to a
// PLC directory, for development and interop checks. Wiring only.
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "atcr/base/encoding.h"
#include "atcr/crypto/keys.h"
#include "atcr/identity/plc_operation.h"
#include "atcr/net/http_client.h"
#include "atcr/net/router.h"
#include "atcr/net/server.h"
#include "atcr/pds/plc_directory.h"
#include "command.h"

namespace atcr::app {
namespace {

constexpr uint16_t kDefaultPlcPort = 2582;

struct ServeFlags {
  std::string addr = "127.0.0.1:" + std::to_string(kDefaultPlcPort);
  std::string data;
};

struct CreateFlags {
  std::string plc = "http://127.0.0.1:" + std::to_string(kDefaultPlcPort);
  std::string handle;
  std::string pds;
  std::string rotation_key_hex;
  std::string rotation_key_type = "k256";
  std::string signing_key;
  bool dry_run = false;
};

// "host:port", "[v6]:port", or ":port" (loopback).
Result<std::pair<std::string, uint16_t>> SplitAddr(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("--addr must be HOST:PORT, got " + addr);
  std::string host = addr.substr(0, colon);
  std::string port_text = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "127.0.0.1";
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535) {
    return InvalidArgument("--addr has a bad port: " + addr);
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

int Serve(const ServeFlags& flags) {
  auto hostport = SplitAddr(flags.addr);
  if (!hostport.ok()) {
    std::fprintf(stderr, "atcr plc serve: %s\n", hostport.error().message.c_str());
    return 2;
  }
  pds::PlcDirectoryOptions options;
  options.data_dir = flags.data;
  auto dir = pds::PlcDirectory::Open(options);
  if (!dir.ok()) {
    std::fprintf(stderr, "atcr plc serve: %s\n", dir.error().message.c_str());
    return 1;
  }
  net::Router router;
  (*dir)->Register(router);
  net::ServerOptions server_options;
  server_options.address = hostport->first;
  server_options.port = hostport->second;
  net::Server server(server_options, std::move(router));
  spdlog::info("plc: development PLC directory on {}:{}, {}", hostport->first, hostport->second,
               flags.data.empty() ? std::string("in memory") : "data in " + flags.data);
  Status st = server.RunUntilSignal();
  if (!st.ok()) {
    std::fprintf(stderr, "atcr plc serve: %s\n", st.error().message.c_str());
    return 1;
  }
  spdlog::info("plc: stopped");
  return 0;
}

int Create(const CreateFlags& flags) {
  auto fail = [](const std::string& what) {
    std::fprintf(stderr, "atcr plc create: %s\n", what.c_str());
    return 1;
  };
  auto type = crypto::ParseKeyType(flags.rotation_key_type);
  if (!type.ok()) return fail(type.error().message);
  std::optional<crypto::PrivateKey> rotation;
  if (flags.rotation_key_hex.empty()) {
    rotation = crypto::PrivateKey::Generate(*type);
  } else {
    auto k = crypto::PrivateKey::FromHex(*type, flags.rotation_key_hex);
    if (!k.ok()) return fail("--rotation-key: " + k.error().message);
    rotation = *k;
  }
  std::string signing_key = flags.signing_key;
  std::optional<crypto::PrivateKey> generated_signing;
  if (signing_key.empty()) {
    generated_signing = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
    signing_key = generated_signing->public_key().DidKey();
  }
  auto genesis = identity::CreatePlcGenesis(
      *rotation, {.signing_key = signing_key, .handle = flags.handle, .pds_endpoint = flags.pds});
  if (!genesis.ok()) return fail(genesis.error().message);
  if (!flags.dry_run) {
    net::HttpClient client;
    boost::asio::io_context ioc;
    Status submitted;
    boost::asio::co_spawn(
        ioc,
        [&]() -> net::Task<void> {
          std::string url = flags.plc;
          std::string did = genesis->did;
          identity::PlcOperation op = genesis->op;
          submitted = co_await identity::SubmitPlcOperation(client, std::move(url), std::move(did),
                                                            std::move(op));
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    ioc.run();
    if (!submitted.ok()) return fail(submitted.error().message);
  }
  boost::json::object out;
  out["did"] = genesis->did;
  out["operation"] = identity::ToJson(genesis->op);
  out["cid"] = identity::PlcOperationCid(genesis->op).ToString();
  out["rotationKey"] = rotation->public_key().DidKey();
  out["signingKey"] = signing_key;
  // Printed so the caller can sign later ops; only ever to stdout, never logged.
  if (flags.rotation_key_hex.empty()) {
    out["rotationKeyHex"] = HexEncode(rotation->secret_bytes());
  }
  if (generated_signing) out["signingKeyHex"] = HexEncode(generated_signing->secret_bytes());
  std::printf("%s\n", boost::json::serialize(out).c_str());
  return 0;
}

CommandRegistration kPlc(150, [](CLI::App& root, int* exit_code) {
  auto* plc = root.add_subcommand("plc", "development did:plc directory");
  plc->require_subcommand(1);

  auto serve_flags = std::make_shared<ServeFlags>();
  auto* serve = plc->add_subcommand(
      "serve", "serve a PLC directory (POST /{did}, GET /{did}, /{did}/data, /{did}/log/audit)");
  serve->add_option("--addr", serve_flags->addr, "listen address host:port")
      ->capture_default_str();
  serve->add_option("--data", serve_flags->data,
                    "data directory (SQLite); default: in memory, lost on exit");
  serve->callback([serve_flags, exit_code] { *exit_code = Serve(*serve_flags); });

  auto create_flags = std::make_shared<CreateFlags>();
  auto* create = plc->add_subcommand(
      "create", "mint a did:plc and submit its genesis op; prints {did, operation, keys} as JSON");
  create->add_option("--plc", create_flags->plc, "PLC directory URL")->capture_default_str();
  create->add_option("--handle", create_flags->handle, "handle (alsoKnownAs at://HANDLE)")
      ->required();
  create->add_option("--pds", create_flags->pds, "PDS endpoint (#atproto_pds)")->required();
  create->add_option("--rotation-key", create_flags->rotation_key_hex,
                     "rotation private key, 64 hex characters (default: a new key, printed)");
  create->add_option("--rotation-key-type", create_flags->rotation_key_type, "k256 or p256")
      ->capture_default_str();
  create->add_option("--signing-key", create_flags->signing_key,
                     "did:key of the #atproto signing key (default: a new K-256 key, printed)");
  create->add_flag("--dry-run", create_flags->dry_run, "print the op without submitting it");
  create->callback([create_flags, exit_code] { *exit_code = Create(*create_flags); });
});

}  // namespace
}  // namespace atcr::app
