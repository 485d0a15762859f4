#include <boost/json.hpp>

#include <algorithm>
#include <mutex>

#include "atcr/oci/manifest.h"
#include "internal/blocking.h"
#include "internal/descriptor_json.h"
#include "internal/fs_stores.h"
#include "internal/fs_util.h"

namespace atcr::registry::internal {
namespace json = boost::json;
namespace {

constexpr size_t kMaxMetadataFile = 64 * 1024;

// One manifest of a repository: what the revision link file holds.
struct Revision {
  std::string media_type;
  uint64_t size = 0;
  oci::Digest blob;  // where the bytes are in the content store (sha256)
  std::optional<oci::Digest> subject;
};

std::string EncodeRevision(const Revision& r) {
  json::object o;
  o["mediaType"] = r.media_type;
  o["size"] = r.size;
  o["blob"] = r.blob.str();
  if (r.subject) o["subject"] = r.subject->str();
  return json::serialize(o);
}

const json::string* GetString(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return nullptr;
  return it->value().if_string();
}

Result<Revision> DecodeRevision(std::string_view text, const std::string& path) {
  auto bad = [&] { return Error(ErrorCode::kDataLoss, "corrupt manifest revision " + path); };
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return bad();
  const json::object& o = v.get_object();
  Revision r;
  const json::string* mt = GetString(o, "mediaType");
  const json::string* blob = GetString(o, "blob");
  auto size = o.find("size");
  if (!mt || !blob || size == o.end() || !size->value().is_number()) return bad();
  r.media_type = std::string(*mt);
  r.size = size->value().to_number<uint64_t>(ec);
  if (ec) return bad();
  auto d = oci::Digest::Parse(std::string_view(*blob));
  if (!d.ok()) return bad();
  r.blob = *d;
  if (const json::string* s = GetString(o, "subject")) {
    auto sd = oci::Digest::Parse(std::string_view(*s));
    if (!sd.ok()) return bad();
    r.subject = *sd;
  }
  return r;
}

std::string EncodeDescriptor(const oci::Descriptor& d) {
  return json::serialize(DescriptorJson(d));
}

std::optional<oci::Descriptor> DecodeDescriptor(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  oci::Descriptor d;
  const json::string* mt = GetString(o, "mediaType");
  const json::string* dg = GetString(o, "digest");
  auto size = o.find("size");
  if (!mt || !dg || size == o.end() || !size->value().is_number()) return std::nullopt;
  d.media_type = std::string(*mt);
  auto digest = oci::Digest::Parse(std::string_view(*dg));
  if (!digest.ok()) return std::nullopt;
  d.digest = *digest;
  d.size = size->value().to_number<int64_t>(ec);
  if (ec) return std::nullopt;
  if (const json::string* at = GetString(o, "artifactType")) d.artifact_type = std::string(*at);
  auto ann = o.find("annotations");
  if (ann != o.end() && ann->value().is_object()) {
    for (const auto& [k, val] : ann->value().get_object()) {
      if (val.is_string()) d.annotations[std::string(k)] = std::string(val.get_string());
    }
  }
  return d;
}

Error ManifestUnknown(std::string_view repo, std::string_view ref) {
  return NotFound("manifest " + std::string(ref) + " is not in repository " + std::string(repo),
                  "MANIFEST_UNKNOWN");
}

std::string Dir(const std::string& path) { return path.substr(0, path.find_last_of('/')); }

Result<std::optional<Revision>> ReadRevision(const std::string& path) {
  ATCR_ASSIGN_OR_RETURN(auto text, ReadSmallFile(path, kMaxMetadataFile));
  if (!text) return std::optional<Revision>();
  ATCR_ASSIGN_OR_RETURN(Revision r, DecodeRevision(*text, path));
  return std::optional<Revision>(std::move(r));
}

}  // namespace

Result<StoredManifest> FsManifestStore::GetBlocking(const std::string& repo,
                                                    const oci::Reference& ref) {
  ATCR_TRY(CheckName(repo));
  oci::Digest digest;
  if (ref.is_digest()) {
    digest = ref.digest();
  } else {
    ATCR_ASSIGN_OR_RETURN(auto link, ReadSmallFile(layout_->Tag(repo, ref.tag()), 1024));
    if (!link) return ManifestUnknown(repo, ref.tag());
    auto d = oci::Digest::Parse(*link);
    if (!d.ok()) return Error(ErrorCode::kDataLoss, "corrupt tag link " + ref.tag());
    digest = *d;
  }
  ATCR_ASSIGN_OR_RETURN(auto rev, ReadRevision(layout_->Revision(repo, digest)));
  if (!rev) return ManifestUnknown(repo, ref.str());
  auto bytes = storage_->ReadAll(rev->blob, oci::kMaxManifestBytes);
  if (!bytes.ok()) {
    return Error(ErrorCode::kDataLoss, "manifest " + digest.str() + " of " + repo +
                                           " has lost its bytes: " + bytes.error().message);
  }
  return StoredManifest{std::string(AsString(*bytes)), rev->media_type, digest};
}

Status FsManifestStore::PutBlocking(const ManifestPut& put) {
  const std::string& repo = put.repository;
  ATCR_TRY(CheckName(repo));
  const bool fsync = layout_->fsync();
  // Bytes first, links after: a crash in between leaves an unreferenced blob, never a link
  // to missing bytes.
  ATCR_ASSIGN_OR_RETURN(storage::BlobInfo stored, storage_->Put(AsBytes(put.bytes)));
  Revision rev{put.media_type, put.bytes.size(), stored.digest, put.subject};

  std::lock_guard lock(layout_->RepositoryLock(repo));
  std::string rev_path = layout_->Revision(repo, put.digest);
  ATCR_TRY(EnsureDirs(Dir(rev_path), fsync));
  ATCR_TRY(WriteFileAtomic(rev_path, EncodeRevision(rev), fsync));
  if (put.subject) {
    std::string ref_path = layout_->Referrer(repo, *put.subject, put.digest);
    ATCR_TRY(EnsureDirs(Dir(ref_path), fsync));
    ATCR_TRY(WriteFileAtomic(ref_path, EncodeDescriptor(put.referrer), fsync));
  }
  if (!put.tags.empty()) ATCR_TRY(EnsureDirs(layout_->TagsDir(repo), fsync));
  for (const std::string& tag : put.tags) {
    ATCR_TRY(WriteFileAtomic(layout_->Tag(repo, tag), put.digest.str(), fsync));
  }
  return Ok();
}

Status FsManifestStore::DeleteBlocking(const std::string& repo, const oci::Digest& digest) {
  ATCR_TRY(CheckName(repo));
  const bool fsync = layout_->fsync();
  std::lock_guard lock(layout_->RepositoryLock(repo));
  std::string rev_path = layout_->Revision(repo, digest);
  ATCR_ASSIGN_OR_RETURN(auto rev, ReadRevision(rev_path));
  if (!rev) return ManifestUnknown(repo, digest.str());
  // Tags first: once the revision is gone nothing may still resolve to it.
  ATCR_ASSIGN_OR_RETURN(auto tags, ListDir(layout_->TagsDir(repo)));
  for (const std::string& tag : tags) {
    std::string path = layout_->Tag(repo, tag);
    ATCR_ASSIGN_OR_RETURN(auto link, ReadSmallFile(path, 1024));
    if (link && *link == digest.str()) {
      Status st = RemoveFile(path, fsync);
      if (!st.ok() && st.error().code != ErrorCode::kNotFound) return st;
    }
  }
  if (rev->subject) {
    Status st = RemoveFile(layout_->Referrer(repo, *rev->subject, digest), fsync);
    if (!st.ok() && st.error().code != ErrorCode::kNotFound) return st;
  }
  return RemoveFile(rev_path, fsync);
}

std::shared_ptr<const StoredManifest> FsManifestStore::CacheLookup(const std::string& repo,
                                                                   const oci::Reference& ref,
                                                                   uint64_t* gen) {
  std::lock_guard lock(cache_.mu);
  *gen = cache_.generation;
  std::string digest;
  if (ref.is_digest()) {
    digest = ref.digest().str();
  } else {
    auto t = cache_.tags.find(repo + '\n' + ref.tag());
    if (t == cache_.tags.end()) return nullptr;
    digest = t->second.str();
  }
  auto m = cache_.manifests.find(repo + '\n' + digest);
  return m == cache_.manifests.end() ? nullptr : m->second;
}

void FsManifestStore::CacheStore(const std::string& repo, const oci::Reference& ref,
                                 const StoredManifest& m, uint64_t gen) {
  std::lock_guard lock(cache_.mu);
  if (gen != cache_.generation) return;  // a mutation landed while we read: don't cache
  if (cache_.manifests.size() >= kCacheMaxEntries || cache_.tags.size() >= kCacheMaxEntries ||
      cache_.bytes + m.bytes.size() > kCacheMaxBytes) {
    cache_.tags.clear();
    cache_.manifests.clear();
    cache_.bytes = 0;
  }
  if (!ref.is_digest()) cache_.tags.insert_or_assign(repo + '\n' + ref.tag(), m.digest);
  auto [it, inserted] = cache_.manifests.try_emplace(repo + '\n' + m.digest.str(),
                                                     std::make_shared<const StoredManifest>(m));
  if (inserted) cache_.bytes += m.bytes.size();
}

void FsManifestStore::CacheInvalidate(const std::string& repo, std::string_view tag) {
  std::lock_guard lock(cache_.mu);
  ++cache_.generation;
  std::string prefix = repo + '\n';
  if (!tag.empty()) {
    cache_.tags.erase(prefix + std::string(tag));
    return;
  }
  std::erase_if(cache_.tags, [&](const auto& kv) { return kv.first.starts_with(prefix); });
  for (auto it = cache_.manifests.begin(); it != cache_.manifests.end();) {
    if (it->first.starts_with(prefix)) {
      cache_.bytes -= it->second->bytes.size();
      it = cache_.manifests.erase(it);
    } else {
      ++it;
    }
  }
}

Task<Result<StoredManifest>> FsManifestStore::Get(std::string_view repository,
                                                  const oci::Reference& reference) {
  std::string repo(repository);
  oci::Reference ref = reference;
  uint64_t gen = 0;
  if (auto hit = CacheLookup(repo, ref, &gen)) co_return StoredManifest(*hit);
  Result<StoredManifest> got = co_await Blocking([&] { return GetBlocking(repo, ref); });
  if (got.ok()) CacheStore(repo, ref, *got, gen);
  co_return got;
}

Task<Status> FsManifestStore::Put(const ManifestPut& put) {
  Status st = co_await Blocking([&] { return PutBlocking(put); });
  // A re-put may carry another media type and moves tags; even a failed put may have moved
  // some tags, so forget the repository either way.
  CacheInvalidate(put.repository, {});
  co_return st;
}

Task<Status> FsManifestStore::Delete(std::string_view repository, const oci::Digest& digest) {
  std::string repo(repository);
  Status st = co_await Blocking([&] { return DeleteBlocking(repo, digest); });
  CacheInvalidate(repo, {});
  co_return st;
}

Task<Status> FsManifestStore::DeleteTag(std::string_view repository, std::string_view tag) {
  std::string repo(repository);
  std::string t(tag);
  Status result = co_await Blocking([&]() -> Status {
    ATCR_TRY(CheckName(repo));
    std::lock_guard lock(layout_->RepositoryLock(repo));
    Status st = RemoveFile(layout_->Tag(repo, t), layout_->fsync());
    if (!st.ok() && st.error().code == ErrorCode::kNotFound) return ManifestUnknown(repo, t);
    return st;
  });
  if (!t.empty()) CacheInvalidate(repo, t);
  co_return result;
}

Task<Result<std::vector<oci::Digest>>> FsManifestStore::FindMissing(
    std::string_view repository, std::span<const oci::Digest> digests) {
  std::string repo(repository);
  co_return co_await Blocking([&]() -> Result<std::vector<oci::Digest>> {
    ATCR_TRY(CheckName(repo));
    std::vector<oci::Digest> missing;
    for (const oci::Digest& d : digests) {
      if (!FileExists(layout_->Revision(repo, d))) missing.push_back(d);
    }
    return missing;
  });
}

Task<Result<std::vector<std::string>>> FsManifestStore::ListTags(std::string_view repository,
                                                                 std::string_view after,
                                                                 size_t limit) {
  std::string repo(repository);
  std::string last(after);
  co_return co_await Blocking([&]() -> Result<std::vector<std::string>> {
    ATCR_TRY(CheckName(repo));
    if (!FileExists(layout_->Repository(repo))) {
      return NotFound("repository " + repo + " is not known", "NAME_UNKNOWN");
    }
    ATCR_ASSIGN_OR_RETURN(auto tags, ListDir(layout_->TagsDir(repo)));
    std::sort(tags.begin(), tags.end());
    std::vector<std::string> out;
    auto it = last.empty() ? tags.begin() : std::upper_bound(tags.begin(), tags.end(), last);
    for (; it != tags.end() && out.size() < limit; ++it) out.push_back(std::move(*it));
    return out;
  });
}

Task<Result<std::vector<std::string>>> FsManifestStore::ListRepositories(std::string_view after,
                                                                         size_t limit) {
  std::string last(after);
  co_return co_await Blocking([&]() -> Result<std::vector<std::string>> {
    std::vector<std::string> repos;
    ATCR_TRY(layout_->ForEachRepository([&](const std::string& name) -> Status {
      if (FileExists(layout_->Repository(name) + "/_manifests")) repos.push_back(name);
      return Ok();
    }));
    std::sort(repos.begin(), repos.end());
    std::vector<std::string> out;
    auto it = last.empty() ? repos.begin() : std::upper_bound(repos.begin(), repos.end(), last);
    for (; it != repos.end() && out.size() < limit; ++it) out.push_back(std::move(*it));
    return out;
  });
}

Task<Result<std::vector<oci::Descriptor>>> FsManifestStore::Referrers(
    std::string_view repository, const oci::Digest& subject,
    std::optional<std::string_view> artifact_type) {
  std::string repo(repository);
  std::optional<std::string> filter;
  if (artifact_type) filter.emplace(*artifact_type);
  co_return co_await Blocking([&]() -> Result<std::vector<oci::Descriptor>> {
    ATCR_TRY(CheckName(repo));
    std::string dir = layout_->ReferrersDir(repo, subject);
    ATCR_ASSIGN_OR_RETURN(auto names, ListDir(dir));
    std::vector<oci::Descriptor> out;
    for (const std::string& n : names) {
      ATCR_ASSIGN_OR_RETURN(auto text, ReadSmallFile(dir + "/" + n, oci::kMaxManifestBytes));
      if (!text) continue;  // deleted concurrently
      auto d = DecodeDescriptor(*text);
      if (!d) return Error(ErrorCode::kDataLoss, "corrupt referrer entry " + dir + "/" + n);
      if (filter && d->artifact_type != *filter) continue;
      out.push_back(std::move(*d));
    }
    std::sort(out.begin(), out.end(),
              [](const oci::Descriptor& a, const oci::Descriptor& b) { return a.digest < b.digest; });
    return out;
  });
}

}  // namespace atcr::registry::internal
