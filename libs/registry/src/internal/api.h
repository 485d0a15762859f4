// The implementation of DistributionApi, split by resource: distribution_api.cpp (dispatch,
// auth, /v2/, _catalog, tags), api_manifests.cpp (manifests, referrers), api_blobs.cpp
// (blob reads and deletes), api_uploads.cpp (upload sessions).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "atcr/net/http.h"
#include "atcr/net/metrics.h"
#include "atcr/oci/digest.h"
#include "atcr/oci/errors.h"
#include "atcr/registry/distribution_api.h"
#include "internal/ranges.h"

namespace atcr::registry {

using net::Request;
using net::Response;

struct DistributionApi::Impl {
  DistributionApiOptions options;
  std::shared_ptr<ManifestStore> manifests;
  std::shared_ptr<BlobStore> blobs;
  std::shared_ptr<UploadStore> uploads;
  net::Gauge* uploads_in_flight = nullptr;

  Task<Response> Handle(Request& req);

  Task<Response> Catalog(Request& req);
  Task<Response> TagsList(Request& req, const std::string& name);

  Task<Response> GetManifest(Request& req, const std::string& name, const std::string& ref);
  Task<Response> PutManifest(Request& req, const std::string& name, const std::string& ref);
  Task<Response> DeleteManifest(Request& req, const std::string& name, const std::string& ref);
  Task<Response> Referrers(Request& req, const std::string& name, const std::string& digest);

  Task<Response> GetBlob(Request& req, const std::string& name, const std::string& digest);
  Task<Response> DeleteBlob(Request& req, const std::string& name, const std::string& digest);

  Task<Response> StartUpload(Request& req, const std::string& name);
  Task<Response> PatchUpload(Request& req, const std::string& name, const std::string& id);
  Task<Response> FinishUpload(Request& req, const std::string& name, const std::string& id);
  Task<Response> UploadStatus(Request& req, const std::string& name, const std::string& id);
  Task<Response> CancelUpload(Request& req, const std::string& name, const std::string& id);

  // Copies the request body into `upload`. `chunk` (from Content-Range) bounds it exactly.
  // Returns an error response, or nullopt when every byte arrived.
  Task<std::optional<Response>> ReceiveBody(Request& req, Upload& upload,
                                            std::optional<internal::ByteRange> chunk);
  // Validates Content-Range / Content-Length of a chunk against the session's offset.
  // Sets `chunk` when a Content-Range was sent; returns the error response otherwise.
  static std::optional<Response> CheckChunk(const Request& req, const std::string& name,
                                            const Upload& upload,
                                            std::optional<internal::ByteRange>& chunk);
};

namespace internal {

// An OCI error response; status 0 = the code's own status.
Response OciError(oci::ErrorCodeOci code, std::string_view message,
                  std::string_view detail_json = {}, int status = 0);
// Maps an atcr::Error once; internal details go to the log, not to the client.
Response ErrorResponse(const Error& error, const Request& req);
// An error from reading the request body; malformed framing becomes 400 `malformed`.
Response BodyReadError(const Error& error, const Request& req, oci::ErrorCodeOci malformed);
// {"digest":"<d>"} for error details.
std::string DigestDetail(const oci::Digest& d);

// "0-<last byte>" as upload responses give it ("0-0" before the first byte).
std::string UploadRange(uint64_t size);
std::string UploadLocation(std::string_view name, std::string_view id);
std::string BlobLocation(std::string_view name, const oci::Digest& d);
std::string ManifestLocation(std::string_view name, const oci::Digest& d);
std::string ETag(const oci::Digest& d);
// True when an If-None-Match header lists this digest's ETag (or "*").
bool IfNoneMatch(const Request& req, const oci::Digest& d);

// Tracks one request streaming upload bytes in the in-flight gauge.
class InFlight {
 public:
  explicit InFlight(net::Gauge* g) : g_(g) {
    if (g_) g_->Add(1);
  }
  ~InFlight() {
    if (g_) g_->Add(-1);
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  net::Gauge* g_;
};

}  // namespace internal
}  // namespace atcr::registry
