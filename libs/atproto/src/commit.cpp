#include "atcr/atproto/commit.h"

#include "atcr/atproto/car.h"
#include "atcr/atproto/syntax.h"
#include "atcr/cbor/codec.h"
#include "atcr/cbor/multicodec.h"

namespace atcr::atproto {

using cbor::Cid;
using cbor::Value;

Value Commit::UnsignedValue() const {
  Value::Map m;
  m["did"] = did;
  m["rev"] = rev;
  m["data"] = data;
  m["prev"] = prev ? Value(*prev) : Value();
  m["version"] = version;
  return Value(std::move(m));
}

Bytes Commit::UnsignedBytes() const { return cbor::Encode(UnsignedValue()); }

Bytes Commit::Encode() const {
  Value v = UnsignedValue();
  v.as_map()["sig"] = sig;
  return cbor::Encode(v);
}

Cid Commit::ComputeCid() const { return Cid::ForDagCbor(Encode()); }

Result<Commit> Commit::Decode(ByteSpan bytes) {
  cbor::DecodeLimits limits;
  limits.max_input_bytes = 64 * 1024;
  limits.max_depth = 2;
  limits.allow_floats = false;
  auto decoded = cbor::Decode(bytes, limits);
  if (!decoded.ok()) {
    return InvalidArgument("commit is not valid DAG-CBOR: " + decoded.error().message);
  }
  const Value& v = *decoded;
  const Value::Map* m = v.if_map();
  if (m == nullptr) return InvalidArgument("commit must be a map");
  for (const auto& [key, _] : *m) {
    if (key != "did" && key != "version" && key != "data" && key != "rev" && key != "prev" &&
        key != "sig") {
      return InvalidArgument("commit has unexpected field \"" + key + "\"");
    }
  }
  Commit c;
  const std::string* did = v.FindString("did");
  std::optional<int64_t> version = v.FindInt("version");
  const Cid* data = v.FindLink("data");
  const std::string* rev = v.FindString("rev");
  const Value* prev = v.Find("prev");
  const Bytes* sig = v.FindBytes("sig");
  if (did == nullptr) return InvalidArgument("commit needs a did string");
  ATCR_TRY(ValidateDid(*did));
  if (version != std::optional<int64_t>(kCommitVersion)) {
    return InvalidArgument("commit version must be 3");
  }
  if (data == nullptr || data->codec() != cbor::multicodec::kDagCbor || !data->IsBlessed()) {
    return InvalidArgument("commit data must be a dag-cbor sha-256 link");
  }
  if (rev == nullptr) return InvalidArgument("commit needs a rev string");
  ATCR_TRY(ValidateTid(*rev));
  if (prev == nullptr || !(prev->is_null() || prev->is_link())) {
    return InvalidArgument("commit prev must be a link or null");
  }
  if (sig == nullptr || sig->size() != crypto::kSignatureSize) {
    return InvalidArgument("commit sig must be 64 bytes");
  }
  c.did = *did;
  c.version = *version;
  c.data = *data;
  c.rev = *rev;
  if (prev->is_link()) c.prev = prev->as_link();
  c.sig = *sig;
  return c;
}

Result<SignedCommit> SignCommit(std::string_view did, const Cid& data, const Tid& rev,
                                const std::optional<Cid>& prev, const crypto::PrivateKey& key) {
  ATCR_TRY(ValidateDid(did));
  if (data.empty()) return InvalidArgument("commit data link is empty");
  SignedCommit out;
  Commit& c = out.commit;
  c.did = std::string(did);
  c.data = data;
  c.rev = rev.ToString();
  c.prev = prev;
  c.sig = key.Sign(c.UnsignedBytes());
  out.bytes = c.Encode();
  out.cid = Cid::ForDagCbor(out.bytes);
  return out;
}

Status VerifyCommit(const Commit& commit, const crypto::PublicKey& key) {
  if (commit.sig.size() != crypto::kSignatureSize) {
    return InvalidArgument("commit sig must be 64 bytes");
  }
  if (auto st = key.Verify(commit.UnsignedBytes(), commit.sig); !st.ok()) {
    return Error(ErrorCode::kUnauthenticated,
                 "commit signature does not verify for " + commit.did + ": " + st.error().message);
  }
  return Ok();
}

Bytes WriteCommitCar(const SignedCommit& commit, const MstDiff& diff,
                     const std::map<Cid, Bytes>& record_blocks) {
  Bytes out;
  CarWriter w({commit.cid}, [&](ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); });
  w.Add(commit.cid, commit.bytes);
  for (const auto& [cid, bytes] : diff.new_nodes) w.Add(cid, bytes);
  for (const auto& [cid, bytes] : diff.proof_nodes) w.Add(cid, bytes);
  for (const auto& op : diff.ops) {
    if (!op.cid) continue;
    auto it = record_blocks.find(*op.cid);
    if (it != record_blocks.end()) w.Add(it->first, it->second);
  }
  return out;
}

Bytes WriteRepoCar(const SignedCommit& commit, const Mst& tree,
                   const std::map<Cid, Bytes>& record_blocks) {
  Bytes out;
  CarWriter w({commit.cid}, [&](ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); });
  w.Add(commit.cid, commit.bytes);
  for (const auto& [cid, bytes] : tree.Blocks()) w.Add(cid, bytes);
  for (const auto& [path, cid] : tree.List()) {
    auto it = record_blocks.find(cid);
    if (it != record_blocks.end()) w.Add(it->first, it->second);
  }
  return out;
}

}  // namespace atcr::atproto
