// AppView: the whole registry front, assembled from a config — the OCI Distribution API
// (registry::DistributionApi) over PdsManifestStore, HoldBlobStore and HoldUploadStore, Docker
// token auth (/auth/token), the firehose watcher that keeps caches honest, the stale-upload
// sweeper, and the data directory (appview.sqlite, secret.key, registry-token.key, uploads/).
// `atcr appview serve` builds one and registers it on a net::Server; tests do the same with
// their own HttpClient/Resolver. Thread-safe; Register before the server starts.
#pragma once

#include <atomic>
#include <memory>

#include "atcr/appview/config.h"
#include "atcr/appview/firehose_watcher.h"
#include "atcr/appview/hold_blob_store.h"
#include "atcr/appview/hold_upload_store.h"
#include "atcr/appview/pds_manifest_store.h"
#include "atcr/appview/registry_token.h"
#include "atcr/appview/services.h"
#include "atcr/appview/token_service.h"
#include "atcr/net/metrics.h"
#include "atcr/net/router.h"
#include "atcr/registry/distribution_api.h"

namespace atcr::appview {

struct AppViewOptions {
  std::shared_ptr<net::HttpClient> http;         // null: one built from the config
  std::shared_ptr<identity::Resolver> resolver;  // null: one built from the config
  std::shared_ptr<net::Metrics> metrics;         // null: none published
  bool background = true;  // firehose watcher and upload sweeper
};

class AppView {
 public:
  static Result<std::unique_ptr<AppView>> Open(AppViewConfig config, AppViewOptions options = {});
  ~AppView();
  AppView(const AppView&) = delete;
  AppView& operator=(const AppView&) = delete;

  // /v2/ (registry API), /auth/token, /auth/jwks.json and a small text page at /.
  void Register(net::Router& router);

  const AppViewConfig& config() const { return config_; }
  AppViewServices& services() { return *services_; }
  TokenService& tokens() { return *tokens_; }
  PdsManifestStore& manifests() { return *manifests_; }
  FirehoseWatcher* firehose() { return firehose_.get(); }
  // Stops background work (firehose, sweeper); the destructor does it too.
  void Stop();

 private:
  AppView() = default;
  net::Task<net::Response> HandleV2(net::Request& req);

  AppViewConfig config_;
  std::shared_ptr<AppViewServices> services_;
  std::shared_ptr<PdsManifestStore> manifests_;
  std::shared_ptr<HoldBlobStore> blobs_;
  std::shared_ptr<HoldUploadStore> uploads_;
  std::shared_ptr<RegistryTokenSigner> signer_;
  std::shared_ptr<TokenService> tokens_;
  std::shared_ptr<registry::DistributionApi> api_;
  std::unique_ptr<FirehoseWatcher> firehose_;
  // Pull notifications in flight; beyond kMaxPullNotifications new ones are dropped, so a
  // flood of manifest GETs cannot turn into a flood of PDS and hold calls.
  std::shared_ptr<std::atomic<int>> pull_notifications_ = std::make_shared<std::atomic<int>>(0);
  struct Background;
  std::unique_ptr<Background> background_;
};

}  // namespace atcr::appview
