// Syntax of ATProto identifiers and string formats, exactly as the specs define them: DID,
// handle, NSID, TID, record key, AT-URI, AT-identifier, datetime, CID string, language tag,
// URI, and MST repo paths. Each Validate* returns Ok or an error naming what was wrong.
// Used by lexicon validation, the PDS write path, identity resolution and the firehose.
// Pure functions; thread-safe. Nothing here touches the network.
//
//   ATCR_TRY(atproto::ValidateHandle(input));
//   ATCR_ASSIGN_OR_RETURN(atproto::AtUri uri, atproto::AtUri::Parse(text));
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "atcr/base/result.h"

namespace atcr::atproto {

inline constexpr size_t kMaxDidLength = 2048;
inline constexpr size_t kMaxHandleLength = 253;
inline constexpr size_t kMaxNsidLength = 317;
inline constexpr size_t kMaxRecordKeyLength = 512;
inline constexpr size_t kMaxAtUriLength = 8192;
inline constexpr size_t kMaxUriLength = 8192;
inline constexpr size_t kMaxDatetimeLength = 64;
inline constexpr size_t kMaxRepoPathLength = 1024;

// did:<method>:<identifier>; method [a-z]+, identifier [A-Za-z0-9._:%-]*, not ending ':' or '%'.
Status ValidateDid(std::string_view did);
// DNS-like name, >= 2 labels, TLD not starting with a digit. Case-insensitive (syntax accepts
// any case; use NormalizeHandle before comparing or storing).
Status ValidateHandle(std::string_view handle);
// Reversed-domain authority plus a name segment ([a-zA-Z][a-zA-Z0-9]*); >= 3 segments.
Status ValidateNsid(std::string_view nsid);
// 13 chars of base32-sortable, top bit zero.
Status ValidateTid(std::string_view tid);
// 1-512 chars of [A-Za-z0-9._:~-], not "." or "..".
Status ValidateRecordKey(std::string_view rkey);
// A handle or a DID.
Status ValidateAtIdentifier(std::string_view ident);
// Lexicon-form AT-URI: at://<handle|did>[/<nsid>[/<rkey>]], no query, fragment, trailing slash.
Status ValidateAtUri(std::string_view uri);
// RFC 3339 profile of ISO 8601 that atproto accepts: uppercase T and Z, timezone required,
// "-00:00" rejected, and a real calendar instant not before year 0.
Status ValidateDatetime(std::string_view datetime);
// The string-format check for `format: cid` (shape only; Cid::Parse does the full decode).
Status ValidateCidSyntax(std::string_view cid);
// BCP 47 language tag, rejecting repeated variants and repeated extension singletons.
Status ValidateLanguage(std::string_view tag);
// Generic URI: scheme ":" then visible ASCII, at most 8 KiB.
Status ValidateUri(std::string_view uri);
// MST key / repo path: "<collection NSID>/<record key>" (the reference PDS's key rules).
Status ValidateRepoPath(std::string_view path);

// Handles compare case-insensitively; this is their canonical (lowercase) form.
std::string NormalizeHandle(std::string_view handle);
// True for handles under TLDs that are syntax-valid but never resolvable (.alt .arpa .example
// .internal .invalid .local .localhost .onion; .test unless allow_test).
bool IsReservedHandle(std::string_view handle, bool allow_test = false);

// A parsed lexicon-form AT-URI.
struct AtUri {
  std::string authority;   // handle or DID
  std::string collection;  // NSID, may be empty
  std::string rkey;        // may be empty (only when collection is set)

  static Result<AtUri> Parse(std::string_view text);
  // "at://authority[/collection[/rkey]]".
  std::string ToString() const;
  bool authority_is_did() const { return authority.starts_with("did:"); }
  friend bool operator==(const AtUri&, const AtUri&) = default;
};

// Splits "collection/rkey" (after ValidateRepoPath succeeded).
struct RepoPath {
  std::string_view collection;
  std::string_view rkey;
};
Result<RepoPath> SplitRepoPath(std::string_view path);

}  // namespace atcr::atproto
