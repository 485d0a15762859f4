// Identity resolution: handle -> DID (DNS TXT _atproto.<handle>, then HTTPS
// /.well-known/atproto-did), DID -> document (did:plc via a PLC directory, did:web via
// /.well-known/did.json; http and a port for localhost in development), and the
// bidirectional check that the document claims the handle back. Results are cached with a
// TTL; Resolve(..., force_refresh) bypasses the cache (e.g. after a signature failure).
// Thread-safe; network waits are bounded by the configured timeout.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "atcr/base/result.h"
#include "atcr/identity/did_document.h"
#include "atcr/net/http.h"

namespace atcr::identity {

struct ResolverOptions {
  std::string plc_url = "https://plc.directory";
  std::chrono::seconds cache_ttl{300};
  std::chrono::seconds negative_ttl{30};
  std::chrono::milliseconds timeout{5000};
  bool use_dns = true;
  // Development: handle suffix (e.g. ".test") -> base URL of the PDS hosting those handles.
  // Such handles resolve through <base>/.well-known/atproto-did with a Host header of the
  // handle, never through DNS.
  std::map<std::string, std::string> handle_overrides;
  // Development: did:web for localhost / *.test may use plain http.
  bool allow_insecure_dev_hosts = true;
};

struct Identity {
  std::string did;
  std::string handle;  // verified both ways, or "handle.invalid"
  std::string pds_endpoint;
  std::string signing_key;  // did:key
  DidDocument document;
};

class Resolver {
 public:
  explicit Resolver(ResolverOptions options);
  ~Resolver();

  // `id` is a handle or a DID. For a handle the DID must claim the handle back.
  net::Task<Result<Identity>> Resolve(std::string_view id, bool force_refresh = false);
  net::Task<Result<DidDocument>> ResolveDid(std::string_view did, bool force_refresh = false);
  net::Task<Result<std::string>> ResolveHandle(std::string_view handle, bool force_refresh = false);

  // Blocking flavour for CLI tools and tests (runs its own io_context).
  Result<Identity> ResolveBlocking(std::string_view id, bool force_refresh = false);

  void Invalidate(std::string_view id);
  const ResolverOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// did:web:<host> -> the URL of its did.json ("http" for localhost or *.test in dev).
Result<std::string> DidWebDocumentUrl(std::string_view did, bool allow_insecure_dev_hosts);
// did:web for a public base URL ("https://hold.example.com" -> did:web:hold.example.com,
// "http://localhost:8080" -> did:web:localhost%3A8080).
Result<std::string> DidWebFromUrl(std::string_view url);

}  // namespace atcr::identity
