// Signed repository commits (version 3): {did, version: 3, data: <MST root>, rev: <TID>,
// prev: <link or null>, sig: <64 bytes>}. The signature is ECDSA (K-256 or P-256, low-S,
// compact) over SHA-256 of the DAG-CBOR encoding of the commit without `sig`; the commit's
// CID is over the signed bytes. Used by the PDS and the hold (writing), and by firehose
// consumers and repo importers (verifying). Pure functions; Commit is a plain value.
//
//   ATCR_ASSIGN_OR_RETURN(atproto::SignedCommit c,
//                         atproto::SignCommit(did, tree.RootCid(), clock.Next(), {}, key));
//   ATCR_ASSIGN_OR_RETURN(atproto::Commit back, atproto::Commit::Decode(c.bytes));
//   ATCR_TRY(atproto::VerifyCommit(back, did_doc_key));
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "atcr/atproto/mst.h"
#include "atcr/atproto/tid.h"
#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/cbor/cid.h"
#include "atcr/cbor/value.h"
#include "atcr/crypto/keys.h"

namespace atcr::atproto {

inline constexpr int64_t kCommitVersion = 3;

struct Commit {
  std::string did;
  int64_t version = kCommitVersion;
  cbor::Cid data;                   // MST root
  std::string rev;                  // TID
  std::optional<cbor::Cid> prev;    // encoded as null when absent (the key is always present)
  Bytes sig;                        // 64 bytes once signed

  // The map that is signed: every field but `sig`.
  cbor::Value UnsignedValue() const;
  // DAG-CBOR of the unsigned / signed commit.
  Bytes UnsignedBytes() const;
  Bytes Encode() const;
  // CID of Encode() — the commit's identity.
  cbor::Cid ComputeCid() const;

  // Strict decode of a signed v3 commit block: exactly the six fields with the right types, a
  // valid DID, a valid TID rev, a blessed dag-cbor `data` link, a 64-byte sig.
  static Result<Commit> Decode(ByteSpan bytes);

  friend bool operator==(const Commit&, const Commit&) = default;
};

struct SignedCommit {
  Commit commit;
  Bytes bytes;    // Encode() of commit
  cbor::Cid cid;  // CID of bytes
};

// Builds and signs a v3 commit.
Result<SignedCommit> SignCommit(std::string_view did, const cbor::Cid& data, const Tid& rev,
                                const std::optional<cbor::Cid>& prev,
                                const crypto::PrivateKey& key);
// Checks the signature with the DID's current signing key. Any change to any field breaks it.
Status VerifyCommit(const Commit& commit, const crypto::PublicKey& key);

// The CAR slice a firehose #commit (or a sync.getRepo diff) carries: root = the commit, blocks =
// the commit block, the new and proof MST nodes of `diff`, and the record blocks given for the
// created/updated records (deleted and old record blocks are not included).
Bytes WriteCommitCar(const SignedCommit& commit, const MstDiff& diff,
                     const std::map<cbor::Cid, Bytes>& record_blocks);
// A whole repository as a CAR: commit, every MST node, and the record blocks.
Bytes WriteRepoCar(const SignedCommit& commit, const Mst& tree,
                   const std::map<cbor::Cid, Bytes>& record_blocks);

}  // namespace atcr::atproto
