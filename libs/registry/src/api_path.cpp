#include "internal/api_path.h"

#include <vector>

namespace atcr::registry::internal {
namespace {

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

std::string Join(const std::vector<std::string_view>& segs, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out.push_back('/');
    out.append(segs[i]);
  }
  return out;
}

ApiPath Make(Endpoint e, const std::vector<std::string_view>& segs, size_t name_segs,
             std::string_view arg = {}) {
  if (name_segs == 0) return {};
  return ApiPath{e, Join(segs, name_segs), std::string(arg)};
}

}  // namespace

ApiPath ParseApiPath(std::string_view path) {
  if (path == "/v2" || path == "/v2/") return {Endpoint::kBase, {}, {}};
  if (!path.starts_with("/v2/")) return {};
  std::string_view rest = path.substr(4);
  if (rest == "_catalog" || rest == "_catalog/") return {Endpoint::kCatalog, {}, {}};

  std::vector<std::string_view> segs = Split(rest);
  size_t n = segs.size();
  auto at = [&](size_t from_end) { return segs[n - from_end]; };

  if (n >= 3 && at(3) == "blobs" && at(2) == "uploads") {
    if (at(1).empty()) return Make(Endpoint::kUploadStart, segs, n - 3);
    return Make(Endpoint::kUpload, segs, n - 3, at(1));
  }
  if (n >= 3 && at(2) == "blobs" && at(1) == "uploads") {
    return Make(Endpoint::kUploadStart, segs, n - 2);  // POST .../blobs/uploads (no slash)
  }
  if (n >= 3 && at(2) == "tags" && at(1) == "list") return Make(Endpoint::kTagsList, segs, n - 2);
  if (n >= 2 && !at(1).empty()) {
    if (at(2) == "manifests") return Make(Endpoint::kManifest, segs, n - 2, at(1));
    if (at(2) == "blobs") return Make(Endpoint::kBlob, segs, n - 2, at(1));
    if (at(2) == "referrers") return Make(Endpoint::kReferrers, segs, n - 2, at(1));
  }
  return {};
}

}  // namespace atcr::registry::internal
