// DistributionApi: the OCI Distribution API v1.1 (plus the Docker-era _catalog) served under
// /v2/ over a ManifestStore, a BlobStore and an UploadStore. It parses the path (repository
// names contain slashes), authenticates, validates every input against the spec's grammar,
// streams upload bodies into the UploadStore and sends blobs with sendfile or a redirect.
// Every error leaves as an OCI error body with the spec's code and status.
// Thread-safe: one instance serves all connections; it must outlive the server using it.
//
//   auto api = std::make_shared<DistributionApi>(options, stores.manifests, stores.blobs,
//                                                stores.uploads);
//   net::Router router;
//   api->Register(router);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "atcr/net/http.h"
#include "atcr/net/metrics.h"
#include "atcr/net/router.h"
#include "atcr/registry/authenticator.h"
#include "atcr/registry/blob_store.h"
#include "atcr/registry/manifest_store.h"
#include "atcr/registry/upload_store.h"

namespace atcr::registry {

struct DistributionApiOptions {
  // DELETE of manifests, tags and blobs; when false they answer 405 UNSUPPORTED.
  bool delete_enabled = false;
  // Largest blob accepted by an upload (all chunks together); 0 = no limit.
  uint64_t max_blob_bytes = 0;
  // Page size of _catalog when the client gives no `n`; larger `n` are clamped to max_page.
  size_t catalog_page = 100;
  size_t max_page = 10000;
  // Null: every request is allowed (the standalone default).
  std::shared_ptr<Authenticator> authenticator;
  // Repository-name check (NAME_INVALID on failure). Null: oci::ValidateRepositoryName. The
  // AppView also accepts a DID as the first component ("did:plc:abc/app").
  std::function<Status(std::string_view name)> validate_name;
  // Where the atcr_registry_uploads_in_flight gauge lives; null: not published.
  std::shared_ptr<net::Metrics> metrics;
};

class DistributionApi {
 public:
  DistributionApi(DistributionApiOptions options, std::shared_ptr<ManifestStore> manifests,
                  std::shared_ptr<BlobStore> blobs, std::shared_ptr<UploadStore> uploads);
  ~DistributionApi();
  DistributionApi(const DistributionApi&) = delete;
  DistributionApi& operator=(const DistributionApi&) = delete;

  // Adds the /v2/ prefix route (and the bare /v2).
  void Register(net::Router& router);
  net::Task<net::Response> Handle(net::Request& request);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace atcr::registry
