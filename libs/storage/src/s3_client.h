// The S3 REST calls the S3 blob store needs, one bucket per Client: URL building for
// path-style and virtual-host addressing, SigV4 signing, retries with backoff, and S3 error
// bodies mapped to atcr errors. Blocking (HttpClient::SendSync); call it from worker threads.
// Thread-safe (const after construction; the HTTP client's pool is shared).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/net/http.h"
#include "atcr/net/http_client.h"
#include "atcr/storage/blob_store.h"
#include "atcr/storage/sigv4.h"
#include "s3_xml.h"

namespace atcr::storage::s3 {

struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // DNS name, IPv4, or "[v6]"
  uint16_t port = 0;
  bool default_port = true;  // the port was omitted or is the scheme's default
};
// "http[s]://host[:port]" with an optional trailing "/"; no path, query or user info.
Result<Endpoint> ParseEndpoint(std::string_view url);

struct ClientConfig {
  Endpoint endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  AwsCredentials credentials;
  bool path_style = true;
  int max_attempts = 4;
  std::chrono::milliseconds retry_base_delay{100};
  std::chrono::milliseconds retry_max_delay{5000};
  std::chrono::milliseconds request_timeout{300000};
  net::HttpClientOptions http;
  std::function<int64_t()> clock;  // signing time; default UnixSeconds
};

// Where a request for `key` goes ("" = the bucket itself).
struct Target {
  std::string origin;         // "http://127.0.0.1:9000" or "https://bucket.s3.example"
  std::string host_header;    // what is signed and sent as Host
  std::string canonical_uri;  // "/bucket/key" (path-style) or "/key"; the key encoded once
};

struct ObjectHead {
  uint64_t size = 0;
  int64_t modified_unix = 0;
  std::string etag;
};

// Maps an S3 error response to an atcr error: the S3 code and message, the operation, the
// key and the request id go into the message; the code decides the ErrorCode.
Error MapS3Error(std::string_view op, std::string_view key, const net::ClientResponse& response);
// Whether an S3 error code is worth retrying (throttling, transient server faults).
bool IsRetryableS3Code(std::string_view code);

class Client {
 public:
  static Result<std::unique_ptr<Client>> Create(ClientConfig config);

  Target TargetFor(std::string_view key) const;
  std::string UrlFor(std::string_view key, const ParamList& query) const;

  struct Call {
    net::Method method = net::Method::kGet;
    std::string op;  // "PutObject": for messages
    std::string key;
    ParamList query;
    ParamList headers;
    std::string body;
    std::string payload_hash;  // lowercase hex; empty = SHA-256 of body
    bool idempotent = true;
    // CompleteMultipartUpload, CopyObject and UploadPartCopy may answer 200 with an <Error>.
    bool error_in_200 = false;
  };
  // The 2xx response, or the mapped error after the retries.
  Result<net::ClientResponse> Do(Call call) const;

  Result<PresignedRequest> Presign(std::string_view method, std::string_view key,
                                   const ParamList& query, const ParamList& signed_headers,
                                   std::string payload_hash, int64_t expires_seconds) const;

  Status HeadBucket() const;
  Result<std::optional<ObjectHead>> Head(const std::string& key) const;  // nullopt: absent
  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) const;
  // sha256_hex: the body's SHA-256 (signed; S3 rejects a body that does not match).
  Result<std::string> Put(const std::string& key, std::string body, std::string sha256_hex) const;
  Status Delete(const std::string& key) const;  // absent is fine
  Result<std::string> Copy(const std::string& src_key, const std::string& dst_key) const;
  Result<std::string> CreateMultipart(const std::string& key) const;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int32_t part_number, std::string body) const;
  Result<std::string> UploadPartCopy(const std::string& key, const std::string& upload_id,
                                     int32_t part_number, const std::string& src_key,
                                     uint64_t first, uint64_t last) const;
  Result<std::string> CompleteMultipart(const std::string& key, const std::string& upload_id,
                                        const std::vector<CompletedPart>& parts) const;
  Status AbortMultipart(const std::string& key, const std::string& upload_id) const;
  Result<std::vector<ListedPart>> ListParts(const std::string& key,
                                            const std::string& upload_id) const;
  Result<std::vector<ListedUpload>> ListUploads(const std::string& prefix) const;
  // Pages through ListObjectsV2; `visit` returning an error stops the listing.
  Status ListObjects(const std::string& prefix,
                     const std::function<Status(const ListedObject&)>& visit) const;

  const ClientConfig& config() const { return config_; }
  net::HttpClient& http() const { return *http_; }

 private:
  explicit Client(ClientConfig config);
  int64_t Now() const;

  ClientConfig config_;
  SigV4Signer signer_;
  std::unique_ptr<net::HttpClient> http_;
};

}  // namespace atcr::storage::s3
