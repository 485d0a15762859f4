// AppViewIndex: the AppView's own state in SQLite (DATA/appview.sqlite) besides sessions:
// which blobs are readable through which repository and on which hold (links, so a blob
// delete is per repository), the manifests this AppView pushed or served (catalog, the hold
// of a repository), owners' last known handles, and open upload sessions. Every method blocks
// (SQLite); coroutine callers wrap them in net::RunBlocking. Thread-safe (the connection is
// locked per call).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atcr/base/result.h"
#include "atcr/db/database.h"

namespace atcr::appview {

struct BlobLink {
  std::string did;
  std::string repository;
  std::string digest;
  uint64_t size = 0;
  std::string hold_did;
};

struct IndexedManifest {
  std::string did;
  std::string repository;
  std::string digest;
  std::string rkey;
  std::string hold_did;
  std::string media_type;
};

struct UploadRow {
  std::string id;
  std::string did;
  std::string repository;
  std::string hold_did;
  int64_t created_at = 0;
  int64_t touched_at = 0;
};

class AppViewIndex {
 public:
  explicit AppViewIndex(std::shared_ptr<db::Database> db) : db_(std::move(db)) {}

  // Links are inserted or, with `replace`, overwritten (an upload beats a link seen on pull).
  Status Link(const BlobLink& link, bool replace);
  Result<std::optional<BlobLink>> GetLink(const std::string& did, const std::string& repository,
                                          const std::string& digest);
  // False when there was no link.
  Result<bool> Unlink(const std::string& did, const std::string& repository,
                      const std::string& digest);
  // Any repository's link of this digest on `hold_did` (for mounts); nullopt when none.
  Result<std::optional<BlobLink>> FindLinkOnHold(const std::string& digest,
                                                 const std::string& hold_did);

  Status PutManifest(const IndexedManifest& m);
  Status DeleteManifest(const std::string& did, const std::string& repository,
                        const std::string& digest);
  // The hold of the newest manifest of a repository; nullopt when none is known.
  Result<std::optional<std::string>> RepositoryHold(const std::string& did,
                                                    const std::string& repository);
  // "<handle-or-did>/<repository>" of every repository with a known manifest, byte order,
  // strictly after `after`, at most `limit`.
  Result<std::vector<std::string>> Catalog(const std::string& after, size_t limit);

  Status PutOwner(const std::string& did, const std::string& handle);

  Status PutUpload(const UploadRow& row);
  Result<std::optional<UploadRow>> GetUpload(const std::string& id);
  Status TouchUpload(const std::string& id, int64_t now);
  Status DeleteUpload(const std::string& id);
  Result<std::vector<UploadRow>> UploadsOlderThan(int64_t touched_before);

 private:
  std::shared_ptr<db::Database> db_;
};

}  // namespace atcr::appview
