#include "atcr/hold/hold_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "atcr/atproto/syntax.h"
#include "atcr/base/hash.h"
#include "atcr/identity/resolver.h"
#include "internal/files.h"

namespace atcr::hold {
namespace json = boost::json;

Result<crypto::PrivateKey> LoadOrCreateSigningKey(const std::string& path) {
  ATCR_ASSIGN_OR_RETURN(Bytes secret, internal::LoadOrCreateSecretFile(path, [] {
    auto key = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
    return Bytes(key.secret_bytes().begin(), key.secret_bytes().end());
  }));
  auto key = crypto::PrivateKey::FromBytes(crypto::KeyType::kK256, secret);
  if (!key.ok()) return InvalidArgument(path + ": not a K-256 private key: " + key.error().message);
  return std::move(key).value();
}

Result<Bytes> LoadOrCreateSecret(const std::string& path, size_t size) {
  ATCR_ASSIGN_OR_RETURN(Bytes secret,
                        internal::LoadOrCreateSecretFile(path, [size] { return RandomBytes(size); }));
  if (secret.size() != size) {
    return InvalidArgument(path + ": expected " + std::to_string(size) + " bytes of hex");
  }
  return secret;
}

Result<HoldIdentity> LoadHoldIdentity(const std::string& public_url, const std::string& data_dir) {
  HoldIdentity id;
  id.public_url = public_url;
  while (!id.public_url.empty() && id.public_url.back() == '/') id.public_url.pop_back();
  ATCR_ASSIGN_OR_RETURN(id.did, identity::DidWebFromUrl(id.public_url));
  std::string host = id.public_url.substr(id.public_url.find("://") + 3);
  if (auto colon = host.find(':'); colon != std::string::npos) host.resize(colon);
  if (atproto::ValidateHandle(host).ok()) id.handle = atproto::NormalizeHandle(host);
  ATCR_TRY(internal::EnsureDir(data_dir, 0700));
  ATCR_ASSIGN_OR_RETURN(id.signing_key, LoadOrCreateSigningKey(data_dir + "/signing.key"));
  return id;
}

std::string DidDocumentJson(const HoldIdentity& id) {
  json::object doc;
  doc["@context"] = json::array{"https://www.w3.org/ns/did/v1",
                                "https://w3id.org/security/multikey/v1",
                                "https://w3id.org/security/suites/secp256k1-2019/v1"};
  doc["id"] = id.did;
  json::array aka;
  if (!id.handle.empty()) aka.push_back(json::string("at://" + id.handle));
  doc["alsoKnownAs"] = std::move(aka);
  json::object vm;
  vm["id"] = id.did + "#atproto";
  vm["type"] = "Multikey";
  vm["controller"] = id.did;
  vm["publicKeyMultibase"] = id.signing_key.public_key().Multikey();
  doc["verificationMethod"] = json::array{std::move(vm)};
  json::object pds;
  pds["id"] = "#atproto_pds";
  pds["type"] = "AtprotoPersonalDataServer";
  pds["serviceEndpoint"] = id.public_url;
  json::object hold;
  hold["id"] = "#atcr_hold";
  hold["type"] = "AtcrHoldService";
  hold["serviceEndpoint"] = id.public_url;
  doc["service"] = json::array{std::move(pds), std::move(hold)};
  return json::serialize(doc);
}

}  // namespace atcr::hold
