// `atcr hold serve`: a hold (ATCR's bring-your-own-storage blob service), and
// `atcr config init hold`: its commented default configuration. Wiring only.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "atcr/base/log.h"
#include "atcr/hold/config.h"
#include "atcr/hold/embedded_pds.h"
#include "atcr/hold/gc.h"
#include "atcr/hold/hold.h"
#include "atcr/hold/hold_identity.h"
#include "atcr/hold/hold_storage.h"
#include "atcr/hold/service_auth.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/router.h"
#include "atcr/net/server.h"
#include "atcr/storage/s3_blob_store.h"
#include "command.h"

namespace atcr::app {
namespace {

struct HoldFlags {
  std::string config;
  std::string addr;
  std::string data;
  std::string public_url;
};

int Fail(const std::string& what) {
  std::fprintf(stderr, "atcr hold serve: %s\n", what.c_str());
  return 1;
}

int Serve(const HoldFlags& flags) {
  hold::HoldConfig cfg;
  Status st = hold::LoadHoldConfig(flags.config, hold::ProcessEnv(), cfg);
  if (!st.ok()) return Fail(st.error().message);
  if (!flags.addr.empty()) cfg.addr = flags.addr;
  if (!flags.data.empty()) cfg.data_dir = flags.data;
  if (!flags.public_url.empty()) cfg.public_url = flags.public_url;
  st = hold::ValidateHoldConfig(cfg);
  if (!st.ok()) return Fail(st.error().message);
  if (!cfg.log_level.empty()) SetupLogging(cfg.log_level);

  auto hostport = hold::SplitHostPort(cfg.addr);
  if (!hostport.ok()) return Fail(hostport.error().message);
  auto identity = cfg.did_method == "plc"
                      ? hold::LoadHoldIdentityPlc(cfg.public_url, cfg.data_dir, cfg.plc_directory_url)
                      : hold::LoadHoldIdentity(cfg.public_url, cfg.data_dir);
  if (!identity.ok()) return Fail(identity.error().message);
  // One process per data directory: the index, upload state and GC assume a single writer.
  int lock_fd =
      ::open((cfg.data_dir + "/.atcr-hold.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return Fail("data directory " + cfg.data_dir + " is in use by another atcr hold process");
  }

  std::shared_ptr<hold::HoldStorage> storage;
  std::string storage_where = cfg.StorageRoot();
  if (cfg.storage_driver == "filesystem") {
    auto fs = hold::CreateFsHoldStorage({.root = cfg.StorageRoot(), .fsync = true});
    if (!fs.ok()) return Fail("storage " + cfg.StorageRoot() + ": " + fs.error().message);
    storage = *fs;
  } else {
    storage::S3BlobStoreOptions s3;
    s3.endpoint = cfg.s3_endpoint.empty() ? "https://s3." + cfg.s3_region + ".amazonaws.com"
                                          : cfg.s3_endpoint;
    s3.region = cfg.s3_region;
    s3.bucket = cfg.s3_bucket;
    s3.access_key = cfg.s3_access_key;
    s3.secret_key = cfg.s3_secret_key;
    s3.path_style = cfg.s3_force_path_style;
    s3.prefix = cfg.s3_prefix;
    s3.presign_expiry_seconds = cfg.url_expiry_seconds;
    auto store = storage::CreateS3BlobStore(s3);
    if (!store.ok()) return Fail("s3 bucket " + cfg.s3_bucket + ": " + store.error().message);
    storage = hold::CreateObjectStoreHoldStorage(std::move(*store));
    storage_where = s3.endpoint + "/" + cfg.s3_bucket;
  }
  hold::EmbeddedPdsOptions pds_options;
  pds_options.data_dir = cfg.data_dir + "/pds";
  pds_options.identity = *identity;
  auto pds = hold::EmbeddedPds::Open(pds_options);
  if (!pds.ok()) return Fail("embedded PDS: " + pds.error().message);
  auto url_key = hold::LoadOrCreateSecret(cfg.data_dir + "/url-signing.key", 32);
  if (!url_key.ok()) return Fail(url_key.error().message);

  identity::ResolverOptions resolver_options;
  resolver_options.plc_url = cfg.plc_directory_url;
  auto resolver = std::make_shared<identity::Resolver>(resolver_options);

  hold::HoldDeps deps;
  deps.identity = *identity;
  deps.storage = storage;
  deps.records = (*pds)->records();
  deps.did_source = hold::ResolverDidSource(resolver);
  deps.url_signing_key = *url_key;
  auto h = hold::Hold::Create(cfg, std::move(deps));
  if (!h.ok()) return Fail(h.error().message);

  net::Router router;
  (*h)->Register(router, (*pds)->handler());
  net::ServerOptions server_options;
  server_options.address = hostport->first;
  server_options.port = hostport->second;
  server_options.threads = cfg.threads;
  net::Server server(server_options, std::move(router));

  std::optional<hold::GcScheduler> gc;
  if (cfg.gc_enabled) {
    const auto interval = std::chrono::seconds(cfg.gc_interval_seconds);
    const auto first =
        std::min(interval, std::chrono::seconds(std::max<int64_t>(cfg.gc_grace_seconds, 600)));
    gc.emplace((*h)->gc(), interval, cfg.gc_dry_run, first);
  }
  spdlog::info("hold: {} at {} (listening on {}), storage {} in {}, {} hold, GC {}", identity->did,
               cfg.public_url, cfg.addr, cfg.storage_driver, storage_where,
               cfg.is_public ? "public" : "private",
               cfg.gc_enabled ? (cfg.gc_dry_run ? "dry-run" : "on") : "off");
  st = server.RunUntilSignal();
  gc.reset();
  (*pds)->Stop();
  if (!st.ok()) return Fail(st.error().message);
  spdlog::info("hold: stopped");
  return 0;
}

CommandRegistration kHold(110, [](CLI::App& root, int* exit_code) {
  auto* hold_cmd = root.add_subcommand("hold", "ATCR hold: blob storage with crew access control");
  hold_cmd->require_subcommand(1);

  auto flags = std::make_shared<HoldFlags>();
  auto* serve = hold_cmd->add_subcommand("serve", "serve the hold's XRPC API and blobs");
  serve->add_option("--config", flags->config, "YAML config file (atcr config init hold)")
      ->envname("ATCR_HOLD_CONFIG");
  serve->add_option("--addr", flags->addr, "listen address host:port (default 127.0.0.1:8080)");
  serve->add_option("--data", flags->data, "data directory (server.data_dir)");
  serve->add_option("--public-url", flags->public_url, "public base URL (server.public_url)");
  serve->callback([flags, exit_code] { *exit_code = Serve(*flags); });

  AddConfigInit(root, exit_code, "hold", "the hold's config (hold serve)",
                [] { return hold::DefaultHoldConfigYaml(); });
});

}  // namespace
}  // namespace atcr::app
