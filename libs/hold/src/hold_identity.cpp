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
#include "atcr/identity/plc_operation.h"
#include "atcr/identity/resolver.h"
#include "atcr/net/http_client.h"
#include "internal/files.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

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

namespace {

template <typename T>
T RunToCompletion(std::function<net::Task<T>()> make) {
  boost::asio::io_context io;
  std::optional<T> out;
  boost::asio::co_spawn(
      io, [&]() -> net::Task<void> { out.emplace(co_await make()); }, boost::asio::detached);
  io.run();
  if (!out) return Internal("PLC request did not complete");
  return std::move(*out);
}

// 200 from GET {plc}/{did}: the directory knows the DID.
Result<bool> PlcHasDid(net::HttpClient& http, const std::string& plc_url, const std::string& did) {
  return RunToCompletion<Result<bool>>([&]() -> net::Task<Result<bool>> {
    net::ClientRequest req;
    req.url = plc_url + "/" + did;
    req.timeout = std::chrono::milliseconds(10000);
    auto resp = co_await http.Send(std::move(req));
    if (!resp.ok()) co_return resp.error();
    co_return resp->status == 200;
  });
}

}  // namespace

Result<HoldIdentity> LoadHoldIdentityPlc(const std::string& public_url, const std::string& data_dir,
                                         const std::string& plc_url_in) {
  ATCR_ASSIGN_OR_RETURN(HoldIdentity id, LoadHoldIdentity(public_url, data_dir));
  std::string plc_url = plc_url_in;
  while (plc_url.ends_with('/')) plc_url.pop_back();
  const std::string did_path = data_dir + "/plc-did";
  const std::string genesis_path = data_dir + "/plc-genesis.json";
  std::error_code ec;
  if (std::filesystem::exists(did_path, ec)) {
    ATCR_ASSIGN_OR_RETURN(std::string text, internal::ReadSmallFile(did_path, 256));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (!identity::IsValidPlcDid(text)) return InvalidArgument(did_path + ": not a did:plc");
    id.did = text;
    return id;
  }

  identity::PlcOperation op;
  if (std::filesystem::exists(genesis_path, ec)) {
    ATCR_ASSIGN_OR_RETURN(std::string text, internal::ReadSmallFile(genesis_path, 16 * 1024));
    auto parsed = identity::ParsePlcOperationJson(text);
    if (!parsed.ok()) return InvalidArgument(genesis_path + ": " + parsed.error().message);
    op = std::move(parsed).value();
  } else {
    ATCR_ASSIGN_OR_RETURN(crypto::PrivateKey rotation,
                          LoadOrCreateSigningKey(data_dir + "/rotation.key"));
    op.rotation_keys = {rotation.public_key().DidKey()};
    op.verification_methods["atproto"] = id.signing_key.public_key().DidKey();
    if (!id.handle.empty()) op.also_known_as = {"at://" + id.handle};
    op.services["atproto_pds"] = {"AtprotoPersonalDataServer", id.public_url};
    op.services["atcr_hold"] = {"AtcrHoldService", id.public_url};
    op = identity::SignPlcOperation(std::move(op), rotation);
    ATCR_TRY(identity::CheckPlcOperationLimits(op));
    ATCR_TRY(internal::WriteFileAtomic(genesis_path, identity::ToJsonText(op), 0600));
  }
  const std::string did = identity::PlcDidForGenesis(op);

  net::HttpClient http;
  auto known = PlcHasDid(http, plc_url, did);
  if (!known.ok()) {
    return Error(ErrorCode::kUnavailable, "PLC directory " + plc_url + " unreachable while "
                 "registering " + did + ": " + known.error().message);
  }
  if (!*known) {
    auto submitted = RunToCompletion<Result<void>>([&]() -> net::Task<Result<void>> {
      co_return co_await identity::SubmitPlcOperation(http, plc_url, did, op);
    });
    if (!submitted.ok()) {
      return Error(submitted.error().code, "registering " + did + " in the PLC directory " +
                   plc_url + ": " + submitted.error().message);
    }
  }
  ATCR_TRY(internal::WriteFileAtomic(did_path, did + "\n", 0600));
  id.did = did;
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
