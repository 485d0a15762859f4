// libFuzzer target for ParseManifest (and the digest and name grammars it leans on).
// Build with -DATCR_FUZZ=ON and clang; run: build/bin/manifest_fuzz -max_len=65536 corpus/
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "atcr/oci/digest.h"
#include "atcr/oci/errors.h"
#include "atcr/oci/manifest.h"
#include "atcr/oci/media_types.h"
#include "atcr/oci/name.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first byte picks the Content-Type so every resolution path gets exercised.
  static constexpr std::string_view kTypes[] = {
      "", "application/json", atcr::oci::kOciManifest, atcr::oci::kOciIndex,
      atcr::oci::kDockerManifest, atcr::oci::kDockerManifestList, atcr::oci::kDockerSchema1,
      "text/plain; charset=utf-8"};
  std::string_view ct;
  if (!input.empty()) {
    ct = kTypes[static_cast<uint8_t>(input[0]) % std::size(kTypes)];
    input.remove_prefix(1);
  }
  auto m = atcr::oci::ParseManifest(input, ct);
  if (m.ok()) {
    // Invariants of an accepted manifest.
    if (!atcr::oci::IsManifestMediaType(m->media_type)) __builtin_trap();
    if (m->is_index != atcr::oci::IsIndexMediaType(m->media_type)) __builtin_trap();
    if (!m->is_index && !m->config) __builtin_trap();
    for (const auto& d : m->layers) {
      if (d.size < 0 || d.digest.empty()) __builtin_trap();
    }
    (void)m->EffectiveArtifactType();
  } else {
    (void)atcr::oci::ErrorBody(m.error());
  }
  (void)atcr::oci::Digest::Parse(input);
  (void)atcr::oci::ValidateRepositoryName(input);
  (void)atcr::oci::ParseReference(input);
  return 0;
}
