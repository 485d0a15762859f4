// `atcr pds serve`: a multi-account PDS (accounts with did:plc identities, repos, sync,
// firehose), and `atcr config init pds`: its commented default configuration. Wiring only.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "atcr/base/log.h"
#include "atcr/pds/pds_config.h"
#include "atcr/pds/pds_server.h"
#include "command.h"

namespace atcr::app {
namespace {

struct ServeFlags {
  std::string config;
  std::string addr;
  std::string data;
  std::string plc;
  std::string public_url;
  std::vector<std::string> handle_domains;
};

int Fail(const std::string& what) {
  std::fprintf(stderr, "atcr pds serve: %s\n", what.c_str());
  return 1;
}

int Serve(const ServeFlags& flags) {
  pds::PdsConfig cfg;
  auto env = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  Status st = pds::LoadPdsConfig(flags.config, env, cfg);
  if (!st.ok()) return Fail(st.error().message);
  if (!flags.addr.empty()) cfg.addr = flags.addr;
  if (!flags.data.empty()) cfg.data = flags.data;
  if (!flags.plc.empty()) cfg.plc_url = flags.plc;
  if (!flags.public_url.empty()) cfg.public_url = flags.public_url;
  if (!flags.handle_domains.empty()) {
    for (const auto& d : flags.handle_domains) {
      if (d.size() < 2 || d[0] != '.') return Fail("--handle-domain " + d + " must start with '.'");
    }
    cfg.handle_domains = flags.handle_domains;
  }
  if (!cfg.log_level.empty()) SetupLogging(cfg.log_level);
  auto server = pds::PdsServer::Open(cfg);
  if (!server.ok()) return Fail(server.error().message);
  st = (*server)->RunUntilSignal();
  if (!st.ok()) return Fail(st.error().message);
  spdlog::info("pds: stopped");
  return 0;
}

CommandRegistration kPds(120, [](CLI::App& root, int* exit_code) {
  auto* pds = GetOrAddSubcommand(&root, "pds", "ATProto PDS: accounts, repos, sync, firehose");
  pds->require_subcommand(1);
  auto flags = std::make_shared<ServeFlags>();
  auto* serve = pds->add_subcommand("serve", "serve a multi-account PDS");
  serve->add_option("--config", flags->config, "YAML config file (atcr config init pds)")
      ->envname("ATCR_PDS_CONFIG");
  serve->add_option("--addr", flags->addr, "listen address host:port (default 127.0.0.1:2583)");
  serve->add_option("--data", flags->data, "data directory (default ./atcr-pds)");
  serve->add_option("--plc", flags->plc, "PLC directory URL (default http://127.0.0.1:2582)");
  serve->add_option("--public-url", flags->public_url,
                    "URL clients reach this PDS at (default http://<addr>)");
  serve->add_option("--handle-domain", flags->handle_domains,
                    "handle suffix accounts may use, e.g. .test (repeatable)");
  serve->callback([flags, exit_code] { *exit_code = Serve(*flags); });

  AddConfigInit(root, exit_code, "pds", "the PDS's config (pds serve)",
                [] { return pds::DefaultPdsConfigYaml(); });
});

}  // namespace
}  // namespace atcr::app
