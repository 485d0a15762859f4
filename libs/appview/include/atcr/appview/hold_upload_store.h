// HoldUploadStore: registry::UploadStore that lands blobs on a hold. A hold's multipart
// upload must be started with the blob's digest (io.atcr.hold.initiateUpload), which a
// chunked OCI upload only names at its closing PUT, so the bytes are spooled to
// DATA/uploads/<id> while they arrive (hashed as they pass) and sent to the hold at commit:
// initiateUpload, then parts of uploads.part_size — straight to object storage through
// getPartUploadUrl when the hold offers presigned URLs, else through uploadPart — then
// completeUpload (the hold verifies the digest again), all with service tokens from the
// owner's PDS. The push hold is the owner's profile defaultHold, else the AppView's default.
// Sessions survive a restart (rows in the index, bytes in the spool; the digest state is
// rebuilt by re-reading the spool). Thread-safe; one Upload handle per request.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "atcr/appview/services.h"
#include "atcr/base/hash.h"
#include "atcr/registry/upload_store.h"

namespace atcr::appview {

class HoldUploadStore : public registry::UploadStore,
                        public std::enable_shared_from_this<HoldUploadStore> {
 public:
  static std::shared_ptr<HoldUploadStore> Create(std::shared_ptr<AppViewServices> services);

  Task<Result<std::unique_ptr<registry::Upload>>> Create(std::string_view repository) override;
  Task<Result<std::unique_ptr<registry::Upload>>> Open(std::string_view repository,
                                                       std::string_view id) override;
  Task<Status> Cancel(std::string_view repository, std::string_view id) override;
  Task<Result<size_t>> CleanupStale(int64_t max_age_seconds) override;

  // Sends a spooled blob to a hold (used by Commit); public for tests.
  Task<Status> SendToHold(std::string did, std::string hold_did, std::string spool_path,
                          oci::Digest digest, uint64_t size);

  // One part: through a URL from getPartUploadUrl while *presign holds (cleared for good when
  // the hold offers none), else through uploadPart. Returns the part's ETag.
  Task<Result<std::string>> SendPart(std::string did, HoldInfo hold, std::string upload_id,
                                     int number, std::string bytes, bool* presign);

  struct State {
    Hasher hasher = Hasher(HashAlgorithm::kSha256);
    uint64_t size = 0;
  };

 private:
  explicit HoldUploadStore(std::shared_ptr<AppViewServices> services);
  friend class SpoolUpload;
  std::string SpoolPath(const std::string& id) const;
  void Release(const std::string& id, std::optional<State> state);

  std::shared_ptr<AppViewServices> s_;
  std::mutex mu_;
  std::set<std::string> held_;
  std::map<std::string, State> states_;  // digest state of sessions between requests
  std::map<std::string, int64_t> no_presign_until_;  // hold DID -> unix seconds
};

}  // namespace atcr::appview
