// Media types of the OCI image spec and Docker schema 2 that atcr recognises.
#pragma once

#include <string_view>

namespace atcr::oci {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";

bool IsManifestMediaType(std::string_view mt);  // one of the four accepted manifest types
bool IsIndexMediaType(std::string_view mt);     // OCI index or Docker manifest list
// RFC 6838 "type/subtype" with restricted-name characters (each part 1-127 chars, no
// parameters). Descriptor media types of unknown kinds are accepted when they pass this.
bool IsValidMediaType(std::string_view mt);
// Strips parameters (";...") and surrounding whitespace, lowercases.
std::string_view MediaTypeEssence(std::string_view mt, std::string& storage);

}  // namespace atcr::oci
