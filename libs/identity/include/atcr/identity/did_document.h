// DID documents as ATProto uses them: the handle claimed in alsoKnownAs, the #atproto signing
// key (Multikey, or the legacy EcdsaSecp256k1/r1VerificationKey2019 forms with raw key bytes),
// and the #atproto_pds service endpoint. Pure parsing; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atcr/base/result.h"

namespace atcr::identity {

struct DidDocument {
  std::string did;
  std::vector<std::string> also_known_as;
  std::string handle;        // first syntactically valid at://<handle>; empty when none
  std::string signing_key;   // the #atproto key as a did:key string; empty when none
  std::string pds_endpoint;  // #atproto_pds serviceEndpoint; empty when none
  // Any other service, by fragment id (e.g. "atcr_hold") -> endpoint.
  std::vector<std::pair<std::string, std::string>> services;

  std::optional<std::string> ServiceEndpoint(std::string_view fragment) const;
};

// Parses a DID document; `expected_did` (when not empty) must equal its `id`.
// Errors name the field that was wrong. Documents over 64 KiB are rejected.
Result<DidDocument> ParseDidDocument(std::string_view json, std::string_view expected_did = {});

}  // namespace atcr::identity
