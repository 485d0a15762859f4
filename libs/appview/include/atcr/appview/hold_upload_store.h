// HoldUploadStore: registry::UploadStore that lands blobs on a hold. Bytes are spooled to
// DATA/uploads/<id> and hashed as they arrive (initiateUpload needs the final digest), then sent
// at commit as multipart (presigned/hold-signed part URLs, else uploadPart) with service tokens
// from the owner's PDS. Sessions survive restarts. Used by AppView. Thread-safe; one Upload
// handle per request. See README.md "Life of a push".
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

  // One part: through `url` or a fresh one from getPartUploadUrl while *presign holds (cleared
  // for good when the hold offers none), else through uploadPart. Returns the part's ETag.
  Task<Result<std::string>> SendPart(std::string did, HoldInfo hold, std::string upload_id,
                                     int number, PartBody body, bool* presign,
                                     std::optional<PartUrl> url);

  struct State {
    Hasher hasher = Hasher(HashAlgorithm::kSha256);
    uint64_t size = 0;
  };

 private:
  explicit HoldUploadStore(std::shared_ptr<AppViewServices> services);
  friend class SpoolUpload;
  std::string SpoolPath(const std::string& id) const;
  void Release(const std::string& id, std::optional<State> state);
  Task<Result<PartUrl>> PartUploadUrl(std::string did, HoldInfo hold, std::string upload_id,
                                      int number);
  void NoPresign(const std::string& hold_did, const Error& why);

  std::shared_ptr<AppViewServices> s_;
  std::mutex mu_;
  std::set<std::string> held_;
  std::map<std::string, State> states_;  // digest state of sessions between requests
  std::map<std::string, int64_t> no_presign_until_;  // hold DID -> unix seconds
};

}  // namespace atcr::appview
