// `atcr appview serve`: the AppView (registry front over users' PDSes and holds, Docker token
// auth), and `atcr config init appview`: its commented default configuration. Wiring only.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "atcr/appview/app_view.h"
#include "atcr/appview/config.h"
#include "atcr/base/log.h"
#include "atcr/net/router.h"
#include "atcr/net/server.h"
#include "command.h"

namespace atcr::app {
namespace {

struct AppViewFlags {
  std::string config;
  std::string addr;
  std::string data;
  std::string base_url;
  std::string default_hold_did;
  std::string default_hold_url;
  std::string plc_url;
};

int FailAppView(const std::string& what) {
  std::fprintf(stderr, "atcr appview serve: %s\n", what.c_str());
  return 1;
}

int ServeAppView(const AppViewFlags& flags) {
  appview::AppViewConfig cfg;
  Status st = appview::LoadAppViewConfig(flags.config, appview::ProcessEnv(), cfg);
  if (!st.ok()) return FailAppView(st.error().message);
  if (!flags.addr.empty()) cfg.addr = flags.addr;
  if (!flags.data.empty()) cfg.data = flags.data;
  if (!flags.base_url.empty()) cfg.base_url = flags.base_url;
  if (!flags.default_hold_did.empty()) cfg.default_hold_did = flags.default_hold_did;
  if (!flags.default_hold_url.empty()) cfg.default_hold_url = flags.default_hold_url;
  if (!flags.plc_url.empty()) cfg.plc_url = flags.plc_url;
  if (!cfg.log_level.empty()) SetupLogging(cfg.log_level);
  st = appview::ValidateAppViewConfig(cfg);
  if (!st.ok()) return FailAppView(st.error().message);
  auto hostport = registry::SplitHostPort(cfg.addr);
  if (!hostport.ok()) return FailAppView(hostport.error().message);

  auto metrics = std::make_shared<net::Metrics>();
  appview::AppViewOptions options;
  options.metrics = metrics;
  auto av = appview::AppView::Open(cfg, options);
  if (!av.ok()) return FailAppView("data directory " + cfg.data + ": " + av.error().message);
  // One process per data directory: sessions and caches live in memory too.
  int lock_fd =
      ::open((cfg.data + "/.atcr-appview.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return FailAppView("data directory " + cfg.data + " is in use by another atcr appview");
  }

  net::Router router;
  (*av)->Register(router);
  net::ServerOptions server_options;
  server_options.address = hostport->first;
  server_options.port = hostport->second;
  server_options.threads = cfg.threads;
  server_options.metrics = metrics;
  net::Server server(server_options, std::move(router));
  spdlog::info("appview: listening on {} as {}", cfg.addr, cfg.EffectiveBaseUrl());
  st = server.RunUntilSignal();
  (*av)->Stop();
  if (!st.ok()) return FailAppView(st.error().message);
  spdlog::info("appview: stopped");
  return 0;
}

CommandRegistration kAppView(130, [](CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("appview", "the AppView: registry front over PDSes and holds");
  cmd->require_subcommand(1);

  auto flags = std::make_shared<AppViewFlags>();
  auto* serve = cmd->add_subcommand("serve", "serve the OCI Distribution API and token auth");
  serve->add_option("--config", flags->config, "YAML config file (atcr config init appview)")
      ->envname("ATCR_APPVIEW_CONFIG");
  serve->add_option("--addr", flags->addr, "listen address host:port (default 127.0.0.1:5000)");
  serve->add_option("--data", flags->data, "data directory");
  serve->add_option("--base-url", flags->base_url, "public URL clients use");
  serve->add_option("--default-hold-did", flags->default_hold_did, "hold DID for new pushes");
  serve->add_option("--default-hold-url", flags->default_hold_url,
                    "endpoint of the default hold (skips resolving its DID)");
  serve->add_option("--plc-url", flags->plc_url, "PLC directory URL");
  serve->callback([flags, exit_code] { *exit_code = ServeAppView(*flags); });

  AddConfigInit(root, exit_code, "appview", "the AppView's config (appview serve)",
                [] { return appview::DefaultAppViewConfigYaml(); });
});

}  // namespace
}  // namespace atcr::app
