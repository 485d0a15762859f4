// Hold: ATCR's bring-your-own-storage blob service, wire-compatible with ATCR's hold.
// It owns the hold's records (captain, crew, layer, stats, profile) in a RecordStore for its
// did:web, blob bytes in a HoldStorage, a SQLite index (quota usage, uploads in flight) in its
// data directory, and serves:
//   /.well-known/did.json, /.well-known/atproto-did, /xrpc/_health, describeServer
//   io.atcr.hold.*  (initiateUpload ... setStats; see README.md for each method's access rule)
//   com.atproto.sync.getBlob (OCI digests -> redirect/proxy; CIDs -> the repo's blobs)
//   com.atproto.repo.getRecord / listRecords / describeRepo over the RecordStore, or the
//   embedded PDS's read/sync routes and firehose (embedded_pds.h)
//   hold-signed blob and part URLs (GET /blobs/..., PUT /uploads/...) for the filesystem driver
//   /admin/api/* (GC, crew, usage) when admin is enabled
// Create() bootstraps the records on first start and reconciles the index with the layer
// records. Thread-safe; handlers run on the server's threads.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "atcr/base/result.h"
#include "atcr/hold/config.h"
#include "atcr/hold/gc.h"
#include "atcr/hold/hold_identity.h"
#include "atcr/hold/hold_storage.h"
#include "atcr/hold/record_store.h"
#include "atcr/hold/service_auth.h"
#include "atcr/net/router.h"

namespace atcr::hold {

struct HoldDeps {
  HoldIdentity identity;
  std::shared_ptr<HoldStorage> storage;
  std::shared_ptr<RecordStore> records;  // the hold's repo, for identity.did
  DidDocumentSource did_source;          // resolves token issuers
  Bytes url_signing_key;                 // >= 32 bytes; LoadOrCreateSecret(data_dir/url-signing.key)
  std::function<int64_t()> now;          // unix seconds; empty = the real clock
  // Optional: serves com.atproto.sync.getBlob for ATProto CIDs (the repo's blobs).
  std::function<net::Task<net::Response>(net::Request&, std::string cid)> atproto_blob;
};

class Hold {
 public:
  // `config` must have passed ValidateHoldConfig.
  static Result<std::unique_ptr<Hold>> Create(HoldConfig config, HoldDeps deps);
  ~Hold();
  Hold(const Hold&) = delete;
  Hold& operator=(const Hold&) = delete;

  // `repo_routes` (e.g. EmbeddedPds::handler()) serves what the hold leaves to its PDS: the
  // identity routes, /xrpc/_health, describeServer, com.atproto.repo.* reads, com.atproto.sync.*
  // (getBlob for CIDs, subscribeRepos) and unknown /xrpc/ methods. Without it the hold serves
  // its own did.json, health, describeServer and repo reads from the RecordStore.
  void Register(net::Router& router, net::Handler repo_routes = {});

  const HoldIdentity& identity() const;
  GarbageCollector& gc();
  ServiceAuthVerifier& verifier();

  struct Impl;  // defined in src/internal/hold_impl.h

 private:
  explicit Hold(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace atcr::hold
