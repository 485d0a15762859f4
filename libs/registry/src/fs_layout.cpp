#include <functional>

#include "atcr/oci/name.h"
#include "internal/fs_stores.h"
#include "internal/fs_util.h"

namespace atcr::registry::internal {
namespace {

std::string DigestPath(const oci::Digest& d) {
  return std::string(d.algorithm()) + "/" + std::string(d.encoded());
}

}  // namespace

Status CheckName(std::string_view name) {
  Status st = oci::ValidateRepositoryName(name);
  if (!st.ok()) return InvalidArgument(st.error().message, "NAME_INVALID");
  return Ok();
}

std::string FsLayout::Repository(std::string_view name) const {
  return repositories() + "/" + std::string(name);
}
std::string FsLayout::LayerLink(std::string_view repo, const oci::Digest& d) const {
  return Repository(repo) + "/_layers/" + DigestPath(d);
}
std::string FsLayout::RevisionsDir(std::string_view repo) const {
  return Repository(repo) + "/_manifests/revisions";
}
std::string FsLayout::Revision(std::string_view repo, const oci::Digest& d) const {
  return RevisionsDir(repo) + "/" + DigestPath(d);
}
std::string FsLayout::TagsDir(std::string_view repo) const {
  return Repository(repo) + "/_manifests/tags";
}
std::string FsLayout::Tag(std::string_view repo, std::string_view tag) const {
  return TagsDir(repo) + "/" + std::string(tag);
}
std::string FsLayout::ReferrersDir(std::string_view repo, const oci::Digest& subject) const {
  return Repository(repo) + "/_referrers/" + DigestPath(subject);
}
std::string FsLayout::Referrer(std::string_view repo, const oci::Digest& subject,
                               const oci::Digest& referrer) const {
  return ReferrersDir(repo, subject) + "/" + std::string(referrer.algorithm()) + "-" +
         std::string(referrer.encoded());
}
std::string FsLayout::UploadsDir(std::string_view repo) const {
  return Repository(repo) + "/_uploads";
}
std::string FsLayout::UploadMarker(std::string_view repo, std::string_view id) const {
  return UploadsDir(repo) + "/" + std::string(id);
}

std::mutex& FsLayout::RepositoryLock(std::string_view repo) {
  return locks_[std::hash<std::string_view>()(repo) % locks_.size()];
}

Status FsLayout::LinkBlob(std::string_view repo, const oci::Digest& digest) {
  std::string link = LayerLink(repo, digest);
  if (FileExists(link)) return Ok();
  std::string dir = link.substr(0, link.find_last_of('/'));
  ATCR_TRY(EnsureDirs(dir, fsync_));
  return WriteFileAtomic(link, digest.str(), fsync_);
}

namespace {
Status Walk(const std::string& dir, const std::string& prefix, int depth,
            const std::function<Status(const std::string&)>& fn) {
  if (depth > 128) return Ok();  // names are at most 255 characters: nothing of ours is deeper
  ATCR_ASSIGN_OR_RETURN(auto names, ListDir(dir));
  for (const std::string& n : names) {
    if (n.empty() || n[0] == '_') continue;
    std::string child = dir + "/" + n;
    std::string name = prefix.empty() ? n : prefix + "/" + n;
    ATCR_TRY(fn(name));
    ATCR_TRY(Walk(child, name, depth + 1, fn));
  }
  return Ok();
}
}  // namespace

Status FsLayout::ForEachRepository(const std::function<Status(const std::string&)>& fn) const {
  return Walk(repositories(), "", 0, fn);
}

bool IsValidUploadId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace atcr::registry::internal
