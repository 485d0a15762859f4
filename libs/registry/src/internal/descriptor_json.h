// The JSON form of a descriptor as the referrers index and its on-disk entries carry it:
// mediaType, digest, size, and artifactType/annotations when present.
#pragma once

#include <boost/json.hpp>

#include "atcr/oci/manifest.h"

namespace atcr::registry::internal {

inline boost::json::object DescriptorJson(const oci::Descriptor& d) {
  boost::json::object o;
  o["mediaType"] = d.media_type;
  o["digest"] = d.digest.str();
  o["size"] = d.size;
  if (!d.artifact_type.empty()) o["artifactType"] = d.artifact_type;
  if (!d.annotations.empty()) {
    boost::json::object a;
    for (const auto& [k, v] : d.annotations) a[k] = v;
    o["annotations"] = std::move(a);
  }
  return o;
}

}  // namespace atcr::registry::internal
