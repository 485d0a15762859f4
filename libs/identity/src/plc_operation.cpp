#include "atcr/identity/plc_operation.h"

#include <boost/json.hpp>

#include <set>
#include <utility>

#include "atcr/atproto/syntax.h"
#include "atcr/base/hash.h"
#include "atcr/cbor/codec.h"
#include "atcr/net/http_client.h"

namespace atcr::identity {
namespace {

namespace json = boost::json;

constexpr std::string_view kDidKeyPrefix = "did:key:";
constexpr std::string_view kAtPrefix = "at://";
constexpr size_t kMaxDidKeyLength = 256;

Error OpError(std::string msg) { return InvalidArgument("invalid PLC operation: " + std::move(msg)); }

std::string Str(const json::string& s) { return std::string(s.data(), s.size()); }

// Checks that `obj` has exactly the keys in `allowed`, all present.
Status ExactKeys(const json::object& obj, std::initializer_list<std::string_view> allowed,
                 std::string_view what) {
  for (const auto& kv : obj) {
    std::string_view k(kv.key().data(), kv.key().size());
    bool known = false;
    for (auto a : allowed) known = known || a == k;
    if (!known) return OpError(std::string(what) + " has an unknown field \"" + std::string(k) + "\"");
  }
  for (auto a : allowed) {
    if (!obj.contains(a)) return OpError(std::string(what) + " is missing \"" + std::string(a) + "\"");
  }
  return Ok();
}

Result<std::string> StringAt(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) return OpError("\"" + std::string(key) + "\" must be a string");
  return Str(v->get_string());
}

Result<std::optional<std::string>> NullableStringAt(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v != nullptr && v->is_null()) return std::optional<std::string>();
  if (v == nullptr || !v->is_string()) {
    return OpError("\"" + std::string(key) + "\" must be a string or null");
  }
  return std::optional<std::string>(Str(v->get_string()));
}

Result<std::vector<std::string>> StringListAt(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_array()) return OpError("\"" + std::string(key) + "\" must be an array");
  std::vector<std::string> out;
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) return OpError("\"" + std::string(key) + "\" must hold only strings");
    out.push_back(Str(e.get_string()));
  }
  return out;
}

Result<PlcOperation> ParseOperation(const json::object& obj) {
  ATCR_TRY(ExactKeys(obj,
                     {"type", "rotationKeys", "verificationMethods", "alsoKnownAs", "services",
                      "prev", "sig"},
                     "plc_operation"));
  PlcOperation op;
  op.type = PlcOpType::kOperation;
  ATCR_ASSIGN_OR_RETURN(op.rotation_keys, StringListAt(obj, "rotationKeys"));
  ATCR_ASSIGN_OR_RETURN(op.also_known_as, StringListAt(obj, "alsoKnownAs"));
  const json::value& vms = obj.at("verificationMethods");
  if (!vms.is_object()) return OpError("\"verificationMethods\" must be an object");
  for (const auto& kv : vms.get_object()) {
    if (!kv.value().is_string()) return OpError("verification method values must be strings");
    op.verification_methods[std::string(kv.key())] = Str(kv.value().get_string());
  }
  const json::value& services = obj.at("services");
  if (!services.is_object()) return OpError("\"services\" must be an object");
  for (const auto& kv : services.get_object()) {
    std::string id(kv.key());
    if (!kv.value().is_object()) return OpError("service \"" + id + "\" must be an object");
    const auto& so = kv.value().get_object();
    ATCR_TRY(ExactKeys(so, {"type", "endpoint"}, "service \"" + id + "\""));
    PlcService svc;
    ATCR_ASSIGN_OR_RETURN(svc.type, StringAt(so, "type"));
    ATCR_ASSIGN_OR_RETURN(svc.endpoint, StringAt(so, "endpoint"));
    op.services[id] = std::move(svc);
  }
  ATCR_ASSIGN_OR_RETURN(op.prev, NullableStringAt(obj, "prev"));
  ATCR_ASSIGN_OR_RETURN(op.sig, StringAt(obj, "sig"));
  return op;
}

Result<PlcOperation> ParseTombstone(const json::object& obj) {
  ATCR_TRY(ExactKeys(obj, {"type", "prev", "sig"}, "plc_tombstone"));
  PlcOperation op;
  op.type = PlcOpType::kTombstone;
  ATCR_ASSIGN_OR_RETURN(std::string prev, StringAt(obj, "prev"));
  op.prev = std::move(prev);
  ATCR_ASSIGN_OR_RETURN(op.sig, StringAt(obj, "sig"));
  return op;
}

Result<PlcOperation> ParseLegacyCreate(const json::object& obj) {
  ATCR_TRY(ExactKeys(obj,
                     {"type", "signingKey", "recoveryKey", "handle", "service", "prev", "sig"},
                     "create"));
  PlcOperation op;
  op.type = PlcOpType::kLegacyCreate;
  ATCR_ASSIGN_OR_RETURN(op.signing_key, StringAt(obj, "signingKey"));
  ATCR_ASSIGN_OR_RETURN(op.recovery_key, StringAt(obj, "recoveryKey"));
  ATCR_ASSIGN_OR_RETURN(op.handle, StringAt(obj, "handle"));
  ATCR_ASSIGN_OR_RETURN(op.service, StringAt(obj, "service"));
  if (!obj.at("prev").is_null()) return OpError("a legacy create op must have prev null");
  ATCR_ASSIGN_OR_RETURN(op.sig, StringAt(obj, "sig"));
  return op;
}

// Identifier of a verification method or service: short, no '#', URL-fragment-safe.
Status CheckId(std::string_view id, std::string_view what) {
  if (id.empty()) return OpError(std::string(what) + " id is empty");
  if (id.size() > kPlcMaxIdLength) {
    return OpError(std::string(what) + " id too long (max " + std::to_string(kPlcMaxIdLength) +
                   "): " + std::string(id));
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '~' || c == ':';
    if (!ok) return OpError(std::string(what) + " id has a bad character: " + std::string(id));
  }
  return Ok();
}

Status CheckRotationKey(const std::string& key) {
  if (key.size() > kMaxDidKeyLength) return OpError("rotation key too long");
  auto pub = crypto::PublicKey::FromDidKey(key);
  if (!pub.ok()) {
    return OpError("rotation key " + key + " is not a K-256 or P-256 did:key: " +
                   pub.error().message);
  }
  return Ok();
}

// Any key type may sign for a service, but the string must be a did:key in base58btc.
Status CheckVerificationKey(const std::string& id, const std::string& key) {
  if (key.size() > kMaxDidKeyLength) return OpError("verification method " + id + " key too long");
  if (!key.starts_with(kDidKeyPrefix) || key.size() <= kDidKeyPrefix.size() + 1 ||
      key[kDidKeyPrefix.size()] != 'z' ||
      !Base58Decode(std::string_view(key).substr(kDidKeyPrefix.size() + 1)).ok()) {
    return OpError("verification method " + id + " is not a did:key: " + key);
  }
  return Ok();
}

Status CheckHttpUrl(std::string_view url, std::string_view what) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return OpError(std::string(what) + " must be an http(s) URL: " + std::string(url));
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == '?' || rest[0] == '#') {
    return OpError(std::string(what) + " has no host: " + std::string(url));
  }
  if (!atproto::ValidateUri(url).ok()) {
    return OpError(std::string(what) + " is not a valid URI: " + std::string(url));
  }
  return Ok();
}

Status CheckAlsoKnownAs(const std::string& aka) {
  if (aka.size() > kPlcMaxAlsoKnownAsLength) {
    return OpError("alsoKnownAs entry too long (max " + std::to_string(kPlcMaxAlsoKnownAsLength) +
                   ")");
  }
  if (!atproto::ValidateUri(aka).ok()) return OpError("alsoKnownAs entry is not a URI: " + aka);
  if (aka.starts_with(kAtPrefix)) {
    std::string_view ident = std::string_view(aka).substr(kAtPrefix.size());
    if (!atproto::ValidateAtIdentifier(ident).ok()) {
      return OpError("alsoKnownAs entry does not name a valid handle or DID: " + aka);
    }
  }
  return Ok();
}

Status CheckSig(const std::string& sig) {
  if (sig.empty()) return OpError("missing signature");
  if (sig.find('=') != std::string::npos) return OpError("sig must be base64url without padding");
  auto bytes = Base64Decode(sig, Base64Variant::kUrl);
  if (!bytes.ok()) return OpError("sig is not base64url: " + bytes.error().message);
  if (bytes->size() != crypto::kSignatureSize) {
    return OpError("sig must be 64 bytes, got " + std::to_string(bytes->size()));
  }
  return Ok();
}

std::string EnsureAtprotoPrefix(std::string_view s) {
  if (s.starts_with(kAtPrefix)) return std::string(s);
  std::string out(s);
  for (std::string_view p : {"http://", "https://"}) {
    if (auto pos = out.find(p); pos != std::string::npos) out.erase(pos, p.size());
  }
  return "at://" + out;
}

std::string EnsureHttpPrefix(std::string_view s) {
  if (s.starts_with("http://") || s.starts_with("https://")) return std::string(s);
  return "https://" + std::string(s);
}

cbor::Value StringList(const std::vector<std::string>& v) {
  cbor::Value::List l;
  l.reserve(v.size());
  for (const auto& s : v) l.emplace_back(s);
  return cbor::Value(std::move(l));
}

json::array JsonList(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object JsonServices(const std::map<std::string, PlcService>& services) {
  json::object o;
  for (const auto& [id, svc] : services) {
    o[id] = json::object{{"type", svc.type}, {"endpoint", svc.endpoint}};
  }
  return o;
}

json::object JsonMap(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

}  // namespace

const char* PlcOpTypeName(PlcOpType type) {
  switch (type) {
    case PlcOpType::kOperation:
      return "plc_operation";
    case PlcOpType::kTombstone:
      return "plc_tombstone";
    case PlcOpType::kLegacyCreate:
      return "create";
  }
  return "?";
}

Result<PlcOperation> ParsePlcOperation(const json::value& value) {
  if (!value.is_object()) return OpError("not a JSON object");
  const auto& obj = value.get_object();
  const json::value* type = obj.if_contains("type");
  if (type == nullptr || !type->is_string()) return OpError("\"type\" must be a string");
  std::string_view t(type->get_string().data(), type->get_string().size());
  if (t == "plc_operation") return ParseOperation(obj);
  if (t == "plc_tombstone") return ParseTombstone(obj);
  if (t == "create") return ParseLegacyCreate(obj);
  return OpError("unknown type \"" + std::string(t) + "\"");
}

Result<PlcOperation> ParsePlcOperationJson(std::string_view text) {
  if (text.size() > kPlcMaxOpJsonBytes) {
    return OpError("JSON larger than " + std::to_string(kPlcMaxOpJsonBytes) + " bytes");
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 8;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) return OpError("not valid JSON: " + ec.message());
  return ParsePlcOperation(v);
}

cbor::Value ToCborValue(const PlcOperation& op, bool include_sig) {
  cbor::Value::Map m;
  m["type"] = PlcOpTypeName(op.type);
  switch (op.type) {
    case PlcOpType::kOperation: {
      m["rotationKeys"] = StringList(op.rotation_keys);
      cbor::Value::Map vms;
      for (const auto& [id, key] : op.verification_methods) vms[id] = key;
      m["verificationMethods"] = cbor::Value(std::move(vms));
      m["alsoKnownAs"] = StringList(op.also_known_as);
      cbor::Value::Map services;
      for (const auto& [id, svc] : op.services) {
        cbor::Value::Map s;
        s["type"] = svc.type;
        s["endpoint"] = svc.endpoint;
        services[id] = cbor::Value(std::move(s));
      }
      m["services"] = cbor::Value(std::move(services));
      break;
    }
    case PlcOpType::kTombstone:
      break;
    case PlcOpType::kLegacyCreate:
      m["signingKey"] = op.signing_key;
      m["recoveryKey"] = op.recovery_key;
      m["handle"] = op.handle;
      m["service"] = op.service;
      break;
  }
  m["prev"] = op.prev ? cbor::Value(*op.prev) : cbor::Value();
  if (include_sig && !op.sig.empty()) m["sig"] = op.sig;
  return cbor::Value(std::move(m));
}

Bytes ToCbor(const PlcOperation& op) { return cbor::Encode(ToCborValue(op, true)); }
Bytes UnsignedCbor(const PlcOperation& op) { return cbor::Encode(ToCborValue(op, false)); }

json::value ToJson(const PlcOperation& op) {
  json::object o;
  o["type"] = PlcOpTypeName(op.type);
  switch (op.type) {
    case PlcOpType::kOperation:
      o["rotationKeys"] = JsonList(op.rotation_keys);
      o["verificationMethods"] = JsonMap(op.verification_methods);
      o["alsoKnownAs"] = JsonList(op.also_known_as);
      o["services"] = JsonServices(op.services);
      break;
    case PlcOpType::kTombstone:
      break;
    case PlcOpType::kLegacyCreate:
      o["signingKey"] = op.signing_key;
      o["recoveryKey"] = op.recovery_key;
      o["handle"] = op.handle;
      o["service"] = op.service;
      break;
  }
  if (op.prev) {
    o["prev"] = *op.prev;
  } else {
    o["prev"] = nullptr;
  }
  if (!op.sig.empty()) o["sig"] = op.sig;
  return o;
}

std::string ToJsonText(const PlcOperation& op) { return json::serialize(ToJson(op)); }

Status CheckPlcOperationLimits(const PlcOperation& op) {
  ATCR_TRY(CheckSig(op.sig));
  if (op.prev) {
    if (!cbor::Cid::Parse(*op.prev).ok()) return OpError("prev is not a CID: " + *op.prev);
  }
  size_t cbor_size = ToCbor(op).size();
  if (cbor_size > kPlcMaxOpCborBytes) {
    return OpError("operation too large (" + std::to_string(kPlcMaxOpCborBytes) +
                   " bytes maximum in cbor encoding, got " + std::to_string(cbor_size) + ")");
  }
  switch (op.type) {
    case PlcOpType::kTombstone:
      if (!op.prev) return OpError("a tombstone needs prev");
      return Ok();
    case PlcOpType::kLegacyCreate:
      if (op.prev) return OpError("a legacy create op must have prev null");
      ATCR_TRY(CheckRotationKey(op.signing_key));
      ATCR_TRY(CheckRotationKey(op.recovery_key));
      if (!atproto::ValidateHandle(op.handle).ok()) {
        return OpError("legacy create handle is not a valid handle: " + op.handle);
      }
      return CheckHttpUrl(EnsureHttpPrefix(op.service), "legacy create service");
    case PlcOpType::kOperation:
      break;
  }
  if (op.rotation_keys.size() < kPlcMinRotationKeys) {
    return OpError("need at least one rotation key");
  }
  if (op.rotation_keys.size() > kPlcMaxRotationKeys) {
    return OpError("too many rotation keys (max " + std::to_string(kPlcMaxRotationKeys) + ", got " +
                   std::to_string(op.rotation_keys.size()) + ")");
  }
  std::set<std::string_view> seen;
  for (const auto& key : op.rotation_keys) {
    ATCR_TRY(CheckRotationKey(key));
    if (!seen.insert(key).second) return OpError("duplicate rotation key: " + key);
  }
  if (op.verification_methods.size() > kPlcMaxVerificationMethods) {
    return OpError("too many verification methods (max " +
                   std::to_string(kPlcMaxVerificationMethods) + ")");
  }
  for (const auto& [id, key] : op.verification_methods) {
    ATCR_TRY(CheckId(id, "verification method"));
    ATCR_TRY(CheckVerificationKey(id, key));
  }
  if (op.also_known_as.size() > kPlcMaxAlsoKnownAs) {
    return OpError("too many alsoKnownAs entries (max " + std::to_string(kPlcMaxAlsoKnownAs) + ")");
  }
  seen.clear();
  for (const auto& aka : op.also_known_as) {
    ATCR_TRY(CheckAlsoKnownAs(aka));
    if (!seen.insert(aka).second) return OpError("duplicate alsoKnownAs entry: " + aka);
  }
  if (op.services.size() > kPlcMaxServices) {
    return OpError("too many service entries (max " + std::to_string(kPlcMaxServices) + ")");
  }
  for (const auto& [id, svc] : op.services) {
    ATCR_TRY(CheckId(id, "service"));
    if (svc.type.empty() || svc.type.size() > kPlcMaxServiceTypeLength) {
      return OpError("service " + id + " type must be 1-" +
                     std::to_string(kPlcMaxServiceTypeLength) + " characters");
    }
    if (svc.endpoint.size() > kPlcMaxServiceEndpointLength) {
      return OpError("service " + id + " endpoint too long (max " +
                     std::to_string(kPlcMaxServiceEndpointLength) + ")");
    }
    ATCR_TRY(CheckHttpUrl(svc.endpoint, "service " + id + " endpoint"));
  }
  return Ok();
}

PlcOperation NormalizePlcOperation(const PlcOperation& op) {
  if (op.type != PlcOpType::kLegacyCreate) return op;
  PlcOperation n;
  n.type = PlcOpType::kOperation;
  n.verification_methods["atproto"] = op.signing_key;
  n.rotation_keys = {op.recovery_key, op.signing_key};
  n.also_known_as = {EnsureAtprotoPrefix(op.handle)};
  n.services["atproto_pds"] = PlcService{"AtprotoPersonalDataServer", EnsureHttpPrefix(op.service)};
  n.prev = op.prev;
  n.sig = op.sig;
  return n;
}

PlcOperation SignPlcOperation(PlcOperation op, const crypto::PrivateKey& key) {
  op.sig.clear();
  Bytes sig = key.Sign(UnsignedCbor(op));
  op.sig = Base64Encode(sig, Base64Variant::kUrl, /*pad=*/false);
  return op;
}

Result<std::string> VerifyPlcOperation(const PlcOperation& op,
                                       std::span<const std::string> allowed_keys) {
  ATCR_TRY(CheckSig(op.sig));
  ATCR_ASSIGN_OR_RETURN(Bytes sig, Base64Decode(op.sig, Base64Variant::kUrl));
  Bytes message = UnsignedCbor(op);
  for (const auto& key : allowed_keys) {
    auto pub = crypto::PublicKey::FromDidKey(key);
    if (!pub.ok()) continue;
    if (pub->Verify(message, sig).ok()) return key;
  }
  return InvalidArgument("invalid signature on " + std::string(PlcOpTypeName(op.type)) +
                         " operation: no allowed rotation key (of " +
                         std::to_string(allowed_keys.size()) + ") signed it");
}

std::string PlcDidForGenesis(const PlcOperation& genesis) {
  auto digest = Sha256(ByteSpan(ToCbor(genesis)));
  return "did:plc:" + Base32Encode(digest).substr(0, kPlcDidIdentifierLength);
}

bool IsValidPlcDid(std::string_view did) {
  constexpr std::string_view kPrefix = "did:plc:";
  if (!did.starts_with(kPrefix) || did.size() != kPrefix.size() + kPlcDidIdentifierLength) {
    return false;
  }
  for (char c : did.substr(kPrefix.size())) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

cbor::Cid PlcOperationCid(const PlcOperation& op) { return cbor::Cid::ForDagCbor(ToCbor(op)); }

PlcOperation NextPlcOperation(const PlcOperation& last) {
  PlcOperation next;
  if (last.type != PlcOpType::kTombstone) next = NormalizePlcOperation(last);
  next.type = PlcOpType::kOperation;
  next.prev = PlcOperationCid(last).ToString();
  next.sig.clear();
  return next;
}

PlcOperation PlcTombstoneAfter(const PlcOperation& last) {
  PlcOperation t;
  t.type = PlcOpType::kTombstone;
  t.prev = PlcOperationCid(last).ToString();
  return t;
}

Result<PlcGenesis> CreatePlcGenesis(const crypto::PrivateKey& rotation_key,
                                    const PlcGenesisParams& params) {
  PlcOperation op;
  op.type = PlcOpType::kOperation;
  std::string signer = rotation_key.public_key().DidKey();
  op.rotation_keys = params.rotation_keys;
  if (op.rotation_keys.empty()) op.rotation_keys.push_back(signer);
  bool listed = false;
  for (const auto& k : op.rotation_keys) listed = listed || k == signer;
  if (!listed) return InvalidArgument("the signing rotation key is not among the rotation keys");
  op.verification_methods["atproto"] = params.signing_key;
  op.also_known_as.push_back(EnsureAtprotoPrefix(params.handle));
  op.services["atproto_pds"] = PlcService{"AtprotoPersonalDataServer", params.pds_endpoint};
  op = SignPlcOperation(std::move(op), rotation_key);
  ATCR_TRY(CheckPlcOperationLimits(op));
  PlcGenesis g;
  g.did = PlcDidForGenesis(op);
  g.op = std::move(op);
  return g;
}

std::string RenderPlcDidDocument(std::string_view did, const PlcOperation& op) {
  PlcOperation n = NormalizePlcOperation(op);
  json::object doc;
  doc["@context"] = json::array{"https://www.w3.org/ns/did/v1",
                                "https://w3id.org/security/multikey/v1",
                                "https://w3id.org/security/suites/secp256k1-2019/v1"};
  doc["id"] = did;
  doc["alsoKnownAs"] = JsonList(n.also_known_as);
  json::array vms;
  for (const auto& [id, key] : n.verification_methods) {
    if (!key.starts_with(kDidKeyPrefix)) continue;
    std::string full_id = std::string(did) + "#" + id;
    vms.push_back(json::object{{"id", full_id},
                               {"type", "Multikey"},
                               {"controller", did},
                               {"publicKeyMultibase", key.substr(kDidKeyPrefix.size())}});
  }
  doc["verificationMethod"] = std::move(vms);
  json::array services;
  for (const auto& [id, svc] : n.services) {
    services.push_back(
        json::object{{"id", "#" + id}, {"type", svc.type}, {"serviceEndpoint", svc.endpoint}});
  }
  doc["service"] = std::move(services);
  return json::serialize(doc);
}

json::value PlcDocumentData(std::string_view did, const PlcOperation& op) {
  PlcOperation n = NormalizePlcOperation(op);
  json::object o;
  o["did"] = did;
  o["verificationMethods"] = JsonMap(n.verification_methods);
  o["rotationKeys"] = JsonList(n.rotation_keys);
  o["alsoKnownAs"] = JsonList(n.also_known_as);
  o["services"] = JsonServices(n.services);
  return o;
}

net::Task<Result<void>> SubmitPlcOperation(net::HttpClient& client, std::string plc_url,
                                           std::string did, PlcOperation op) {
  while (plc_url.ends_with('/')) plc_url.pop_back();
  net::ClientRequest req;
  req.method = net::Method::kPost;
  req.url = plc_url + "/" + did;
  req.headers.Set("Content-Type", "application/json");
  req.body = ToJsonText(op);
  auto resp = co_await client.Send(std::move(req));
  if (!resp.ok()) {
    Error e = std::move(resp).error();
    e.message = "submitting PLC operation for " + did + " to " + plc_url + ": " + e.message;
    co_return e;
  }
  if (resp->status >= 200 && resp->status < 300) co_return Ok();
  std::string message = resp->body.substr(0, 512);
  boost::system::error_code ec;
  json::value body = json::parse(resp->body, ec);
  if (!ec && body.is_object()) {
    if (const json::value* m = body.get_object().if_contains("message"); m && m->is_string()) {
      message = Str(m->get_string());
    }
  }
  std::string text = "PLC directory " + plc_url + " refused the operation for " + did + " (HTTP " +
                     std::to_string(resp->status) + "): " + message;
  if (resp->status >= 400 && resp->status < 500) co_return InvalidArgument(std::move(text));
  co_return Error(ErrorCode::kUnavailable, std::move(text));
}

}  // namespace atcr::identity
