// The hold's embedded one-account PDS: a pds::RepoStore for the hold's did:web (signed
// commits, MST, blobs, event sequence), its Firehose, and a single-account pds::AccountService
// whose DID document carries #atproto_pds and #atcr_hold. records() is the hold's RecordStore
// over that repo (every record write is a signed commit on the firehose); Handle() serves the
// PDS's read and sync routes (describeServer, resolveHandle, _health, /.well-known/*,
// com.atproto.repo.getRecord/listRecords/describeRepo, com.atproto.sync.* incl. getBlob for
// CIDs and subscribeRepos) for Hold::Register to fall back to. Thread-safe; it must outlive the
// server its routes run on. Blocking construction (call at startup).
#pragma once

#include <memory>
#include <string>

#include "atcr/base/result.h"
#include "atcr/hold/hold_identity.h"
#include "atcr/hold/record_store.h"
#include "atcr/net/http.h"

namespace atcr::pds {
class RepoStore;
class Firehose;
}  // namespace atcr::pds

namespace atcr::hold {

struct EmbeddedPdsOptions {
  std::string data_dir;  // repo.sqlite, accounts.sqlite, blobs/ (e.g. <hold data>/pds)
  HoldIdentity identity;
  bool durable = true;  // synchronous=FULL commits
};

class EmbeddedPds {
 public:
  static Result<std::unique_ptr<EmbeddedPds>> Open(EmbeddedPdsOptions options);
  ~EmbeddedPds();
  EmbeddedPds(const EmbeddedPds&) = delete;
  EmbeddedPds& operator=(const EmbeddedPds&) = delete;

  std::shared_ptr<RecordStore> records();
  // Dispatches to the PDS's routes; unknown /xrpc/ methods get 501 MethodNotImplemented.
  net::Task<net::Response> Handle(net::Request& req);
  // A handler for Hold::Register (calls Handle on this object).
  net::Handler handler();
  // Ends firehose sessions (call before stopping the server).
  void Stop();

  pds::RepoStore& repo();
  pds::Firehose& firehose();

 private:
  struct Impl;
  explicit EmbeddedPds(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The hold's RecordStore over a pds::RepoStore repo of `did`, signing with `key`.
std::shared_ptr<RecordStore> NewPdsRecordStore(pds::RepoStore& store, std::string did,
                                               crypto::PrivateKey key);

}  // namespace atcr::hold
