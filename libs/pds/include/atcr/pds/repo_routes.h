// The repo and sync XRPC endpoints of a PDS over a RepoStore and its Firehose:
// com.atproto.repo.{createRecord, putRecord, deleteRecord, applyWrites, getRecord, listRecords,
// describeRepo, uploadBlob} and com.atproto.sync.{getRepo, getRecord, getBlocks, getBlob,
// listBlobs, getLatestCommit, getRepoStatus, listRepos, subscribeRepos, and the deprecated
// getHead and getCheckout}. Shapes, error names, messages and
// status codes follow @atproto/pds 0.4.217. Used by `atcr pds serve` (accounts from the account
// service) and by the hold's embedded one-account PDS (its own authenticator and directory).
// Handlers are coroutines; SQLite and the directory are called through net::RunBlocking.
// Everything passed in must outlive the router's server.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "atcr/base/result.h"
#include "atcr/net/http.h"
#include "atcr/net/router.h"
#include "atcr/pds/auth.h"
#include "atcr/pds/firehose.h"
#include "atcr/pds/repo_store.h"

namespace atcr::pds {

struct RepoRoutesOptions {
  // JSON request bodies (the reference's jsonLimit is 150 KiB); over it: 413 PayloadTooLarge.
  uint64_t max_json_bytes = 150 * 1024;
  // Register the write methods (createRecord, putRecord, deleteRecord, applyWrites,
  // uploadBlob). A hold that only writes through RepoStore itself may turn them off.
  bool writes = true;
  // describeRepo's `didDoc`: the DID document (JSON text) of a hosted DID. Unset: a minimal
  // document {"id": did}, and handleIsCorrect is false.
  std::function<net::Task<Result<std::string>>(std::string did)> did_document;
};

void RegisterRepoRoutes(net::Router& router, RepoStore& store, Firehose& firehose,
                        const RequestAuthenticator& auth, const AccountDirectory& accounts,
                        RepoRoutesOptions options = {});

}  // namespace atcr::pds
