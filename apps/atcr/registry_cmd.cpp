// `atcr registry serve`: the standalone OCI registry on the filesystem, and
// `atcr config init registry`: its commented default configuration. Wiring only.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "atcr/base/log.h"
#include "atcr/net/router.h"
#include "atcr/net/server.h"
#include "atcr/registry/config.h"
#include "atcr/registry/distribution_api.h"
#include "atcr/registry/filesystem.h"
#include "atcr/registry/htpasswd.h"
#include "atcr/registry/upload_sweeper.h"
#include "command.h"

namespace atcr::app {
namespace {

struct ServeFlags {
  std::string config;
  std::string addr;
  std::string data;
  std::string htpasswd;
  bool delete_enabled = false;
};

int Fail(const std::string& what) {
  std::fprintf(stderr, "atcr registry serve: %s\n", what.c_str());
  return 1;
}

int Serve(const ServeFlags& flags) {
  registry::RegistryConfig cfg;
  Status st = registry::LoadRegistryConfig(flags.config, registry::ProcessEnv(), cfg);
  if (!st.ok()) return Fail(st.error().message);
  if (!flags.addr.empty()) cfg.addr = flags.addr;
  if (!flags.data.empty()) cfg.data = flags.data;
  if (!flags.htpasswd.empty()) cfg.htpasswd = flags.htpasswd;
  if (flags.delete_enabled) cfg.delete_enabled = true;
  if (!cfg.log_level.empty()) SetupLogging(cfg.log_level);

  auto hostport = registry::SplitHostPort(cfg.addr);
  if (!hostport.ok()) return Fail(hostport.error().message);

  registry::FsStoresOptions fs;
  fs.data_dir = cfg.data;
  fs.stale_upload_seconds = cfg.uploads_stale_after;
  auto stores = registry::OpenFsStores(fs);
  if (!stores.ok()) return Fail("data directory " + cfg.data + ": " + stores.error().message);
  // One process per data directory: the stores keep in-memory state (manifest cache, upload
  // sessions) that a second writer would silently invalidate. The lock dies with the process.
  int lock_fd =
      ::open((cfg.data + "/.atcr-registry.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return Fail("data directory " + cfg.data + " is in use by another atcr registry process");
  }

  registry::DistributionApiOptions api_options;
  api_options.delete_enabled = cfg.delete_enabled;
  api_options.max_blob_bytes = cfg.uploads_max_blob_bytes;
  api_options.metrics = std::make_shared<net::Metrics>();
  if (!cfg.htpasswd.empty()) {
    auto auth = registry::HtpasswdAuthenticator::Load(cfg.htpasswd, {});
    if (!auth.ok()) return Fail(auth.error().message);
    spdlog::info("registry: htpasswd authentication with {} users from {}", (*auth)->user_count(),
                 cfg.htpasswd);
    api_options.authenticator = std::shared_ptr<registry::Authenticator>(std::move(*auth));
  }

  auto api = std::make_shared<registry::DistributionApi>(api_options, stores->manifests,
                                                         stores->blobs, stores->uploads);
  net::Router router;
  api->Register(router);
  net::ServerOptions server_options;
  server_options.address = hostport->first;
  server_options.port = hostport->second;
  server_options.threads = cfg.threads;
  server_options.metrics = api_options.metrics;
  net::Server server(server_options, std::move(router));
  // Sweep a few times per stale period, at most hourly, at least a minute apart.
  registry::UploadSweeper sweeper(
      stores->uploads, cfg.uploads_stale_after,
      std::chrono::seconds(std::clamp<int64_t>(cfg.uploads_stale_after / 4, 60, 3600)));
  spdlog::info("registry: data in {}, deletes {}", cfg.data,
               cfg.delete_enabled ? "enabled" : "disabled");
  st = server.RunUntilSignal();
  if (!st.ok()) return Fail(st.error().message);
  spdlog::info("registry: stopped");
  return 0;
}

CommandRegistration kRegistry(100, [](CLI::App& root, int* exit_code) {
  auto* reg = root.add_subcommand("registry", "standalone OCI registry on the filesystem");
  reg->require_subcommand(1);

  auto flags = std::make_shared<ServeFlags>();
  auto* serve = reg->add_subcommand("serve", "serve the OCI Distribution API");
  serve->add_option("--config", flags->config, "YAML config file (atcr config init registry)")
      ->envname("ATCR_REGISTRY_CONFIG");
  serve->add_option("--addr", flags->addr, "listen address host:port (default 127.0.0.1:5000)");
  serve->add_option("--data", flags->data, "data directory");
  serve->add_option("--htpasswd", flags->htpasswd, "htpasswd file (bcrypt) for Basic auth");
  serve->add_flag("--delete-enabled", flags->delete_enabled,
                  "allow DELETE of manifests, tags and blobs");
  serve->callback([flags, exit_code] { *exit_code = Serve(*flags); });

  AddConfigInit(root, exit_code, "registry", "the registry's config (registry serve)",
                [] { return registry::DefaultRegistryConfigYaml(); });
});

}  // namespace
}  // namespace atcr::app
