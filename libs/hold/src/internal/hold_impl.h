// Hold::Impl: the state every handler of the hold shares, and the handlers themselves
// (hold.cpp: construction, bootstrap, identity and repo routes, admin; hold_uploads.cpp;
// hold_blobs.cpp; hold_manifests.cpp; hold_crew.cpp).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include "atcr/atproto/tid.h"
#include "atcr/hold/access.h"
#include "atcr/hold/hold.h"
#include "atcr/hold/signed_url.h"
#include "atcr/net/xrpc.h"
#include "internal/activity.h"
#include "internal/hold_index.h"
#include "internal/util.h"

namespace atcr::hold {

namespace json = boost::json;
using net::Request;
using net::Response;
using net::Task;

// Who is calling and what they may do, resolved once per request.
struct Access {
  std::string did;  // empty: anonymous
  Captain captain;
  std::optional<CrewMember> crew;

  const CrewMember* crew_ptr() const { return crew ? &*crew : nullptr; }
  bool is_owner() const { return !did.empty() && did == captain.owner; }
  bool can_read() const { return CanRead(captain, did, crew_ptr()); }
  bool can_write() const { return CanWrite(captain, did, crew_ptr()); }
  bool can_manage_crew() const { return CanManageCrew(captain, did, crew_ptr()); }
};

struct Hold::Impl {
  HoldConfig config;
  HoldIdentity identity;
  std::shared_ptr<HoldStorage> storage;
  std::shared_ptr<RecordStore> records;
  std::unique_ptr<internal::HoldIndex> index;
  std::unique_ptr<ServiceAuthVerifier> verifier;
  std::unique_ptr<UrlSigner> signer;
  std::unique_ptr<GarbageCollector> gc;
  std::function<int64_t()> clock;
  std::function<Task<Response>(Request&, std::string)> atproto_blob;
  internal::DigestActivity activity;
  atproto::TidClock tids;
  int64_t started_unix = 0;

  // Captain and crew, cached from the records (this process is their only writer).
  mutable std::mutex state_mu;
  Captain captain;
  std::unordered_map<std::string, CrewMember> crew;  // by member DID

  // Serializes read-modify-write of one user's quota + layer records, or one stats record.
  std::array<std::mutex, 64> user_locks;
  std::array<std::mutex, 64> stats_locks;

  int64_t Now() const;
  std::string NowRfc3339() const;

  // ---- bootstrap (hold.cpp) ----
  Status Bootstrap();
  Status ReconcileIndex();

  // ---- shared helpers (hold.cpp) ----
  Access AccessFor(const std::string& did) const;
  // Verifies the request's service token for `lxm` and resolves the caller's access.
  Task<Result<Access>> Authenticate(const Request& req, std::string_view lxm);
  // Anonymous access when the request carries no token, else Authenticate().
  Task<Result<Access>> AuthenticateOptional(const Request& req, std::string_view lxm);
  bool IsTrustedAppview(const std::string& did) const;
  // `repo` names this hold (its DID, its handle, or the DID with %3A decoded).
  bool IsSelf(std::string_view repo) const;
  // The caller's quota tier (crew tier, else the default) and limit; nullopt limit = unlimited.
  const QuotaTier* TierOf(const std::string& did) const;
  std::optional<uint64_t> LimitOf(const std::string& did) const;
  void Touch(const std::string& digest);
  Result<std::vector<WriteOutcome>> ApplyWrites(const std::vector<RecordWrite>& writes);
  Status PutCrew(const CrewMember& m);
  Status DeleteCrew(const std::string& did);

  // ---- handlers ----
  Task<Response> DidDocument(Request& req);
  Task<Response> AtprotoDid(Request& req);
  Task<Response> Health(Request& req);
  Task<Response> DescribeServer(Request& req);
  Task<Response> RepoGetRecord(Request& req);
  Task<Response> RepoListRecords(Request& req);
  Task<Response> RepoDescribeRepo(Request& req);

  Task<Response> InitiateUpload(Request& req);
  Task<Response> GetPartUploadUrl(Request& req);
  Task<Response> UploadPart(Request& req);
  Task<Response> SignedPartPut(Request& req);
  Task<Response> CompleteUpload(Request& req);
  Task<Response> AbortUpload(Request& req);

  Task<Response> GetBlob(Request& req);
  Task<Response> SignedBlobGet(Request& req);

  Task<Response> NotifyManifest(Request& req);
  Task<Response> GetLayersForManifest(Request& req);
  Task<Response> GetQuota(Request& req);
  Task<Response> ListTiers(Request& req);
  Task<Response> SetStats(Request& req);

  Task<Response> RequestCrew(Request& req);
  Task<Response> UpdateCrewTier(Request& req);
  Task<Response> ExportUserData(Request& req);
  Task<Response> DeleteUserData(Request& req);

  Task<Response> AdminGc(Request& req);
  Task<Response> AdminCrew(Request& req);
  Task<Response> AdminUsage(Request& req);
  std::optional<Response> CheckAdmin(const Request& req) const;

  // Bumps pull or push counters of (owner, repository).
  Status BumpStats(const std::string& owner_did, const std::string& repository, bool push);
  // Writes a stream of upload-part bytes (shared by uploadPart and the signed PUT).
  Task<Response> ReceivePart(Request& req, const std::string& upload_id, int part_number);
};

// ---- small shared helpers (hold.cpp) ----
Response JsonResponse(const json::object& body, int status = 200);
// XRPC error body; lexicon-named errors of this hold answer 400 (QuotaExceeded included).
Response ErrorResponse(const Error& e);
// Reads a JSON object body of at most max_bytes (InvalidRequest otherwise).
Task<Result<json::object>> ReadJsonBody(Request& req, uint64_t max_bytes = 1 << 20);
// Field helpers: InvalidRequest naming the field when missing or of the wrong type/length.
Result<std::string> RequiredString(const json::object& o, std::string_view key, size_t max_len);
std::optional<std::string> OptionalString(const json::object& o, std::string_view key);
Result<int64_t> RequiredInt(const json::object& o, std::string_view key, int64_t min, int64_t max);
Result<std::string> RequiredDid(const json::object& o, std::string_view key);
Error InvalidRequest(std::string message, std::string wire = "InvalidRequest");
Error Forbidden(std::string message);

}  // namespace atcr::hold
