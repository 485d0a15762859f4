// PdsClient: the XRPC calls the AppView makes on any user's PDS — createSession,
// refreshSession, getServiceAuth, repo get/put/delete/listRecords, uploadBlob, sync.getBlob.
// Stateless wire calls over one shared HttpClient; errors keep the PDS's XRPC error name in
// Error::wire (RecordNotFound, ExpiredToken, ...). Sessions and token caching live in
// session_manager.h and service_tokens.h. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "atcr/appview/records.h"
#include "atcr/base/result.h"
#include "atcr/net/http.h"
#include "atcr/net/http_client.h"

namespace atcr::appview {

using net::Task;

struct PdsSession {
  std::string did;
  std::string handle;
  std::string pds_endpoint;  // base URL, no trailing slash
  std::string access_jwt;
  std::string refresh_jwt;
};

struct RecordValue {
  std::string uri;
  std::string cid;
  boost::json::value value;
};

struct RecordPage {
  std::vector<RecordValue> records;
  std::string cursor;  // empty: last page
};

struct PdsClientOptions {
  std::chrono::milliseconds timeout{30000};
  uint64_t max_blob_bytes = 8 * 1024 * 1024;  // sync.getBlob answers larger than this fail
};

class PdsClient {
 public:
  PdsClient(std::shared_ptr<net::HttpClient> http, PdsClientOptions options = {});

  // Password (or app password) login; pds_endpoint is copied into the session.
  Task<Result<PdsSession>> CreateSession(std::string pds, std::string identifier,
                                         std::string password);
  // New access and refresh tokens for a refresh token (the old one is revoked by the PDS).
  Task<Result<PdsSession>> RefreshSession(std::string pds, std::string refresh_jwt);
  // A service-auth JWT for `aud` limited to method `lxm`, valid until exp_unix (0: the PDS's
  // default of 60 s).
  Task<Result<std::string>> GetServiceAuth(std::string pds, std::string access_jwt,
                                           std::string aud, std::string lxm, int64_t exp_unix);

  // Public reads (no token). RecordNotFound (kNotFound) when absent.
  Task<Result<RecordValue>> GetRecord(std::string pds, std::string repo, std::string collection,
                                      std::string rkey);
  Task<Result<RecordPage>> ListRecords(std::string pds, std::string repo, std::string collection,
                                       int limit, std::string cursor);
  // Writes with the account's access token. validate=false: the PDS may not know io.atcr.*
  // lexicons (the AppView validates records itself before writing).
  Task<Result<std::string>> PutRecord(std::string pds, std::string access_jwt, std::string repo,
                                      std::string collection, std::string rkey,
                                      boost::json::object record);  // returns the record CID
  Task<Status> DeleteRecord(std::string pds, std::string access_jwt, std::string repo,
                            std::string collection, std::string rkey);
  Task<Result<BlobRef>> UploadBlob(std::string pds, std::string access_jwt, std::string bytes,
                                   std::string mime_type);
  Task<Result<std::string>> GetBlob(std::string pds, std::string did, std::string cid);

 private:
  std::shared_ptr<net::HttpClient> http_;
  PdsClientOptions options_;
};

// Strips one trailing '/' so "<base>/xrpc/..." is well-formed.
std::string NormalizeBaseUrl(std::string_view url);

}  // namespace atcr::appview
