// The hold's own identity: did:web derived from its public URL, the K-256 repo signing key
// (generated into the data directory, mode 0600, on first start), the secret that signs the
// filesystem driver's blob URLs, and the DID document served at /.well-known/did.json with the
// #atproto key and the #atproto_pds and #atcr_hold services. Used by Hold and `atcr hold serve`.
// Plain values; the file helpers block (call them at startup or through net::RunBlocking).
#pragma once

#include <string>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/crypto/keys.h"

namespace atcr::hold {

struct HoldIdentity {
  std::string did;         // did:web:host or did:web:host%3Aport
  std::string public_url;  // scheme://host[:port], no trailing slash
  std::string handle;      // the host when it is a valid handle (has a dot), else empty
  crypto::PrivateKey signing_key = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
};

// Reads a 64-hex K-256 scalar from `path`, or creates the file with a fresh key (mode 0600,
// written atomically) when it does not exist. A file with other permissions than 0600/0400
// or unparseable content is an error.
Result<crypto::PrivateKey> LoadOrCreateSigningKey(const std::string& path);
// Same for a random secret of `size` bytes (hex in the file).
Result<Bytes> LoadOrCreateSecret(const std::string& path, size_t size);

// did:web, handle and signing key (<data_dir>/signing.key) for a hold at public_url.
// Creates data_dir (0700) when missing.
Result<HoldIdentity> LoadHoldIdentity(const std::string& public_url, const std::string& data_dir);

// The same hold under a did:plc registered in the PLC directory at `plc_url` (config
// registration.did_method: plc). First start: builds the genesis operation (rotation key
// <data_dir>/rotation.key, #atproto = the signing key, alsoKnownAs at://<host> when the host is
// a handle, #atproto_pds and #atcr_hold at public_url), keeps it in <data_dir>/plc-genesis.json
// before submitting it, and records the DID in <data_dir>/plc-did once the directory has it.
// Later starts read plc-did and make no network call; a start interrupted between submitting
// and recording resubmits the same operation (or finds it registered), so the DID never changes.
// Blocks (startup only).
Result<HoldIdentity> LoadHoldIdentityPlc(const std::string& public_url, const std::string& data_dir,
                                         const std::string& plc_url);

// The DID document (JSON text) of the hold.
std::string DidDocumentJson(const HoldIdentity& id);

}  // namespace atcr::hold
