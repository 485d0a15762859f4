// A whole PDS in one object: repo store, firehose, account service and their XRPC routes on
// one net::Server. `atcr pds serve` runs one; `atcr dev` runs one next to the PLC, the hold and
// the AppView in the same process; tests start one on a loopback port.
//
//   PdsConfig cfg; cfg.addr = "127.0.0.1:2583"; cfg.data = dir;
//   ATCR_ASSIGN_OR_RETURN(auto pds, PdsServer::Open(cfg));
//   ATCR_TRY(pds->Start());   // ... pds->Stop();
//
// Start/Stop from one thread; the parts are thread-safe once started.
#pragma once

#include <memory>
#include <string>

#include "atcr/base/result.h"
#include "atcr/pds/pds_config.h"

namespace atcr::pds {

class AccountService;
class RepoStore;

class PdsServer {
 public:
  // Opens the data directory (created 0700), refuses one another PDS process holds, and
  // builds every part. Nothing listens until Start().
  static Result<std::unique_ptr<PdsServer>> Open(const PdsConfig& config);
  ~PdsServer();
  PdsServer(const PdsServer&) = delete;
  PdsServer& operator=(const PdsServer&) = delete;

  Status Start();
  // Closes firehose sessions, drains requests, stops the server. Idempotent.
  void Stop();
  // Start(), then wait for SIGINT/SIGTERM, then Stop().
  Status RunUntilSignal();

  uint16_t port() const;
  const std::string& public_url() const;
  const std::string& service_did() const;
  AccountService& accounts();
  RepoStore& repos();

 private:
  struct Impl;
  explicit PdsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace atcr::pds
