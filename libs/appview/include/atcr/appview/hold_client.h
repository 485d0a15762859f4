// HoldClient: the AppView's side of the hold wire protocol (ATCR's io.atcr.hold.* XRPC
// methods and com.atproto.sync.getBlob), plus the hold directory: a hold DID resolved to its
// endpoint (DID document service #atcr_hold, else #atproto_pds) and its captain record's
// `public` flag, cached for a TTL. Calls carry a service-auth token from the user's PDS (see
// service_tokens.h). Errors keep the hold's XRPC error name (QuotaExceeded, UploadNotFound,
// DigestMismatch, BadJwt, ...). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "atcr/base/result.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/http.h"
#include "atcr/net/http_client.h"
#include "atcr/oci/digest.h"

namespace atcr::appview {

using net::Task;

struct HoldInfo {
  std::string did;
  std::string endpoint;  // base URL, no trailing slash
  bool is_public = false;
};

struct PartUrl {
  std::string url;
  std::string method = "PUT";
  std::vector<std::pair<std::string, std::string>> headers;
};

// A part's bytes: `length` bytes of the open file `fd` from `offset` (the upload spool). Over
// http:// they are streamed from the file in 1 MiB pieces, so a part may be as large as the
// receiver allows; over https they are read into memory first.
struct PartBody {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct UploadedPart {
  int part_number = 0;
  std::string etag;
};

struct HoldClientOptions {
  std::chrono::seconds directory_ttl{300};
  std::chrono::milliseconds timeout{60000};
  // Parts are PUT (ATCR's hold) or POSTed (an XRPC procedure) to uploadPart; on 405 the other
  // method is tried and remembered per hold.
  bool upload_part_put_first = true;
};

class HoldClient {
 public:
  HoldClient(std::shared_ptr<net::HttpClient> http, std::shared_ptr<identity::Resolver> resolver,
             HoldClientOptions options = {});
  ~HoldClient();

  // Development/operators: a fixed endpoint for a hold DID (skips DID resolution).
  void SetEndpoint(const std::string& did, const std::string& endpoint);

  Task<Result<HoldInfo>> Info(std::string did);
  void InvalidateInfo(const std::string& did);

  Task<Result<std::string>> InitiateUpload(HoldInfo hold, std::string token, oci::Digest digest);
  // kUnimplemented (the hold cannot presign) is a normal answer: use UploadPart then.
  Task<Result<PartUrl>> GetPartUploadUrl(HoldInfo hold, std::string token, std::string upload_id,
                                         int part_number);
  // -> etag. A part the hold finds too large is kResourceExhausted (XRPC PayloadTooLarge).
  Task<Result<std::string>> UploadPart(HoldInfo hold, std::string token, std::string upload_id,
                                       int part_number, PartBody body);
  // PUTs a part through a part URL (object storage's presigned one, or one the hold signed
  // for itself); -> the ETag header. HTTP 413 is kResourceExhausted (PayloadTooLarge).
  Task<Result<std::string>> PutPresignedPart(PartUrl url, PartBody body);
  Task<Status> CompleteUpload(HoldInfo hold, std::string token, std::string upload_id,
                              oci::Digest digest, std::vector<UploadedPart> parts);
  Task<Status> AbortUpload(HoldInfo hold, std::string token, std::string upload_id);
  Task<Result<boost::json::object>> NotifyManifest(HoldInfo hold, std::string token,
                                                   boost::json::object body);
  // io.atcr.hold.requestCrew {} (blob:read + blob:write): joins a hold whose captain allows
  // all crew; -> {status: "created"|"already_member", ...}; RegistrationDisabled otherwise.
  Task<Result<boost::json::object>> RequestCrew(HoldInfo hold, std::string token);

  // <endpoint>/xrpc/com.atproto.sync.getBlob?did=<hold did>&cid=<digest>: where a public
  // hold serves (redirects) an OCI blob.
  static std::string BlobUrl(const HoldInfo& hold, const oci::Digest& digest);
  // Asks a hold for the short-lived URL of a blob (GET with a service token, not following
  // the redirect): the Location of its 3xx answer. kUnavailable when the hold answers with
  // the bytes themselves (it proxies; nothing to redirect to).
  Task<Result<std::string>> ResolveBlobRedirect(HoldInfo hold, std::string token,
                                                oci::Digest digest);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace atcr::appview
