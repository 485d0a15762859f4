// did:plc operations (did-method-plc spec v0.1): the signed entries of a DID's operation log.
// Parsing (JSON, strict shapes), the directory's limits, DAG-CBOR forms, signing, verification,
// DID derivation from the genesis op, op CIDs, the DID document a directory serves, and a
// client that submits an op to a PLC directory. Used by the dev PLC directory (pds) and by the
// PDS when it mints accounts. Pure values and functions, thread-safe; only
// SubmitPlcOperation does I/O.
//
//   ATCR_ASSIGN_OR_RETURN(PlcGenesis g, CreatePlcGenesis(rotation_key, {.signing_key = ...,
//                         .handle = "alice.test", .pds_endpoint = "http://localhost:2583"}));
//   auto st = co_await SubmitPlcOperation(http, "http://127.0.0.1:2582", g.did, g.op);
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/cbor/cid.h"
#include "atcr/cbor/value.h"
#include "atcr/crypto/keys.h"
#include "atcr/net/http.h"

namespace atcr::net {
class HttpClient;
}

namespace atcr::identity {

// The directory's limits (those of the reference server, and the spec's 1..5 rotation keys).
inline constexpr size_t kPlcMaxOpCborBytes = 4000;
inline constexpr size_t kPlcMaxOpJsonBytes = 16 * 1024;
inline constexpr size_t kPlcMinRotationKeys = 1;
inline constexpr size_t kPlcMaxRotationKeys = 5;
inline constexpr size_t kPlcMaxAlsoKnownAs = 10;
inline constexpr size_t kPlcMaxAlsoKnownAsLength = 258;  // "at://" + 253-char handle
inline constexpr size_t kPlcMaxServices = 10;
inline constexpr size_t kPlcMaxVerificationMethods = 10;
inline constexpr size_t kPlcMaxIdLength = 32;
inline constexpr size_t kPlcMaxServiceTypeLength = 96;
inline constexpr size_t kPlcMaxServiceEndpointLength = 256;
inline constexpr size_t kPlcDidIdentifierLength = 24;

enum class PlcOpType {
  kOperation,     // "plc_operation"
  kTombstone,     // "plc_tombstone"
  kLegacyCreate,  // "create" (the v1 genesis form; still valid at the head of old logs)
};
const char* PlcOpTypeName(PlcOpType type);

struct PlcService {
  std::string type;
  std::string endpoint;
  friend bool operator==(const PlcService&, const PlcService&) = default;
};

// One operation. Which fields are meaningful depends on `type`:
//   kOperation:    rotation_keys, verification_methods, also_known_as, services, prev, sig
//   kTombstone:    prev (required), sig
//   kLegacyCreate: signing_key, recovery_key, handle, service, prev (null), sig
struct PlcOperation {
  PlcOpType type = PlcOpType::kOperation;
  std::vector<std::string> rotation_keys;                    // did:key, priority order
  std::map<std::string, std::string> verification_methods;  // id (no '#') -> did:key
  std::vector<std::string> also_known_as;                    // URIs, e.g. "at://alice.test"
  std::map<std::string, PlcService> services;                // id (no '#') -> service
  std::string signing_key;   // legacy create
  std::string recovery_key;  // legacy create
  std::string handle;        // legacy create
  std::string service;       // legacy create
  std::optional<std::string> prev;  // CID string of the previous op; nullopt = null (genesis)
  std::string sig;                  // base64url (no padding) of the 64-byte signature; "" = unsigned

  bool is_genesis() const { return !prev.has_value(); }
  friend bool operator==(const PlcOperation&, const PlcOperation&) = default;
};

// Parses an operation from JSON: the exact field set of its type (unknown fields, wrong types,
// a missing sig are errors), nothing more. The limits are checked by CheckPlcOperationLimits.
Result<PlcOperation> ParsePlcOperation(const boost::json::value& json);
// Parses JSON text (at most kPlcMaxOpJsonBytes) with ParsePlcOperation.
Result<PlcOperation> ParsePlcOperationJson(std::string_view text);
// The data-model form of the op as it is hashed and signed (sig included when set).
cbor::Value ToCborValue(const PlcOperation& op, bool include_sig = true);
// DAG-CBOR bytes of the signed op (CID and DID derivation) / of the op without sig (signing).
Bytes ToCbor(const PlcOperation& op);
Bytes UnsignedCbor(const PlcOperation& op);
boost::json::value ToJson(const PlcOperation& op);
std::string ToJsonText(const PlcOperation& op);

// The directory's rules for an incoming op: rotation keys 1..5, distinct, each a K-256 or
// P-256 did:key; verification methods well-formed did:keys with short ids; alsoKnownAs at most
// 10 distinct URIs ("at://" entries name a valid handle or DID); services at most 10 with an
// http(s) endpoint; CBOR size at most kPlcMaxOpCborBytes; a 64-byte base64url signature;
// prev a CID string (required for a tombstone, absent for a legacy create).
Status CheckPlcOperationLimits(const PlcOperation& op);

// The op in current form: a legacy create becomes the plc_operation it stands for
// (verificationMethods {atproto: signingKey}, rotationKeys [recoveryKey, signingKey],
// alsoKnownAs [at://handle], services {atproto_pds}); other ops are returned as they are.
PlcOperation NormalizePlcOperation(const PlcOperation& op);

// Signs `op` (any existing sig is replaced): ECDSA low-S over UnsignedCbor(op).
PlcOperation SignPlcOperation(PlcOperation op, const crypto::PrivateKey& key);
// Checks the signature against the allowed did:keys in order; returns the first key that
// verifies. kInvalidArgument when none does (or the sig or a key is malformed).
Result<std::string> VerifyPlcOperation(const PlcOperation& op,
                                       std::span<const std::string> allowed_keys);

// "did:plc:" + the first 24 characters of base32(sha256(ToCbor(genesis))).
std::string PlcDidForGenesis(const PlcOperation& genesis);
// True for "did:plc:" + 24 characters of the lowercase base32 alphabet.
bool IsValidPlcDid(std::string_view did);
// CIDv1, dag-cbor, sha2-256 of ToCbor(op): what the next op names in `prev`.
cbor::Cid PlcOperationCid(const PlcOperation& op);

// A fresh op continuing from `last` (a plc_operation or legacy create): the same state in
// current form, prev = CID of `last`, unsigned. Edit the fields, then sign.
PlcOperation NextPlcOperation(const PlcOperation& last);
// An unsigned tombstone that ends the log after `last`.
PlcOperation PlcTombstoneAfter(const PlcOperation& last);

struct PlcGenesisParams {
  std::string signing_key;   // did:key of the account's repo signing key (#atproto)
  std::string handle;        // "alice.test"; written as "at://alice.test"
  std::string pds_endpoint;  // "https://pds.example.com" (#atproto_pds)
  // did:keys in priority order; empty = just the signer's key. The signer's key must be listed.
  std::vector<std::string> rotation_keys;
};
struct PlcGenesis {
  std::string did;
  PlcOperation op;  // signed
};
// The genesis op a PDS submits for a new account, signed by `rotation_key`, and its DID.
// Checks the result against CheckPlcOperationLimits.
Result<PlcGenesis> CreatePlcGenesis(const crypto::PrivateKey& rotation_key,
                                    const PlcGenesisParams& params);

// The DID document a directory serves for the state in `op` (a plc_operation or legacy
// create, normalized here): @context, id, alsoKnownAs, verificationMethod (Multikey,
// id "<did>#<id>"), service (id "#<id>"). Compact JSON.
std::string RenderPlcDidDocument(std::string_view did, const PlcOperation& op);
// The directory's /data view: {did, verificationMethods, rotationKeys, alsoKnownAs, services}.
boost::json::value PlcDocumentData(std::string_view did, const PlcOperation& op);

// POST {plc_url}/{did} with the op as JSON. A non-2xx answer becomes an error carrying the
// directory's {"message"} (kInvalidArgument for 400, kUnavailable for 5xx and transport).
net::Task<Result<void>> SubmitPlcOperation(net::HttpClient& client, std::string plc_url,
                                           std::string did, PlcOperation op);

}  // namespace atcr::identity
