// Micro benchmarks of the ATProto core (issue 3 §4): DAG-CBOR encode/decode, MST build, repo CAR
// verification, K-256 sign/verify. bench/atproto/ref_bench.mjs runs the same operations on the
// same inputs with the reference TypeScript libraries; bench/atproto/run.sh puts both in a table.
//
// Inputs are generated deterministically here (fixed-seed PRNG, fixed key, fixed TIDs);
// `atcr_atproto_bench --write-inputs DIR` writes them for the node side. Any other arguments go
// to Google Benchmark (--benchmark_filter=..., --benchmark_format=json, ...).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atcr/atproto/block_store.h"
#include "atcr/atproto/car.h"
#include "atcr/atproto/commit.h"
#include "atcr/atproto/mst.h"
#include "atcr/atproto/tid.h"
#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/base/time.h"
#include "atcr/cbor/cid.h"
#include "atcr/cbor/codec.h"
#include "atcr/cbor/value.h"
#include "atcr/crypto/keys.h"

namespace atcr {
namespace {

using cbor::Cid;
using cbor::Value;

constexpr size_t kRecordCount = 1000;   // manifest/tag record mix for the CBOR figures
constexpr size_t kBlobMapCount = 200;   // byte-string-heavy maps for the CBOR figures
constexpr size_t kMstKeys = 100'000;
constexpr size_t kRepoRecords = 10'000;
constexpr std::string_view kDid = "did:plc:atcrbenchaaaaaaaaaaaaaaa";
constexpr std::string_view kSecretHex =
    "6d7a4f1b0c2e9d8a7b3c5e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b";
constexpr int64_t kEpochMicros = 1'735'689'600'000'000;  // 2025-01-01T00:00:00Z

// splitmix64: tiny, fast, and trivially portable (the node side never re-implements it; it
// reads what --write-inputs wrote).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  Bytes RandomBytes(size_t n) {
    Bytes b(n);
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = Next();
      for (size_t j = 0; j < 8 && i + j < n; ++j) b[i + j] = static_cast<uint8_t>(v >> (8 * j));
    }
    return b;
  }

 private:
  uint64_t s_;
};

std::string Digest(Rng& rng) { return "sha256:" + HexEncode(rng.RandomBytes(32)); }

constexpr const char* kRepoNames[] = {"myapp", "web", "api-server", "worker", "postgres",
                                      "nginx-proxy", "tools/ci", "ml/inference"};
constexpr const char* kLayerTypes[] = {"application/vnd.oci.image.layer.v1.tar+gzip",
                                       "application/vnd.oci.image.layer.v1.tar+zstd",
                                       "application/vnd.docker.image.rootfs.diff.tar.gzip"};

Value BlobReference(Rng& rng, const char* media_type, int64_t size) {
  Value::Map m;
  m["mediaType"] = media_type;
  m["size"] = size;
  m["digest"] = Digest(rng);
  return Value(std::move(m));
}

// An io.atcr.manifest record as the AppView writes it for an image manifest.
Value ManifestRecord(Rng& rng, int64_t micros) {
  Value::Map m;
  m["$type"] = "io.atcr.manifest";
  m["repository"] = kRepoNames[rng.Below(std::size(kRepoNames))];
  m["digest"] = Digest(rng);
  m["mediaType"] = "application/vnd.oci.image.manifest.v1+json";
  m["schemaVersion"] = 2;
  m["config"] = BlobReference(rng, "application/vnd.oci.image.config.v1+json",
                              1000 + static_cast<int64_t>(rng.Below(9000)));
  Value::List layers;
  size_t n_layers = 1 + rng.Below(12);
  for (size_t i = 0; i < n_layers; ++i) {
    layers.push_back(BlobReference(rng, kLayerTypes[rng.Below(std::size(kLayerTypes))],
                                   static_cast<int64_t>(rng.Below(500'000'000))));
  }
  m["layers"] = std::move(layers);
  m["holdDid"] = "did:web:hold01.atcr.io";
  Value::Map blob;
  blob["$type"] = "blob";
  blob["ref"] = Cid::ForRaw(rng.RandomBytes(16));
  blob["mimeType"] = "application/vnd.oci.image.manifest.v1+json";
  blob["size"] = 400 + static_cast<int64_t>(rng.Below(2000));
  m["manifestBlob"] = std::move(blob);
  Value::Map annotations;
  size_t n_ann = rng.Below(4);
  if (n_ann > 0) annotations["org.opencontainers.image.created"] = FormatRfc3339(micros);
  if (n_ann > 1) annotations["org.opencontainers.image.source"] = "https://github.com/example/app";
  if (n_ann > 2) annotations["org.opencontainers.image.revision"] = HexEncode(rng.RandomBytes(20));
  if (!annotations.empty()) m["annotations"] = std::move(annotations);
  m["createdAt"] = FormatRfc3339(micros);
  return Value(std::move(m));
}

Value TagRecord(Rng& rng, int64_t micros, const std::string& tag) {
  Value::Map m;
  m["$type"] = "io.atcr.tag";
  m["repository"] = kRepoNames[rng.Below(std::size(kRepoNames))];
  m["tag"] = tag;
  m["manifest"] = std::string("at://") + std::string(kDid) + "/io.atcr.manifest/" +
                  atproto::Tid::FromParts(micros - 1, 7).ToString();
  m["createdAt"] = FormatRfc3339(micros);
  return Value(std::move(m));
}

// Byte strings and links dominate: chunk lists, signatures, digests (an upper bound on how fast
// the codec can move bulk bytes).
Value BlobHeavyMap(Rng& rng) {
  Value::Map m;
  m["$type"] = "io.atcr.bench.blobs";
  Value::List chunks;
  size_t n_chunks = 2 + rng.Below(5);
  for (size_t i = 0; i < n_chunks; ++i) chunks.push_back(rng.RandomBytes(256 + rng.Below(3840)));
  m["chunks"] = std::move(chunks);
  Value::List refs;
  size_t n_refs = 4 + rng.Below(13);
  for (size_t i = 0; i < n_refs; ++i) refs.push_back(Cid::ForDagCbor(rng.RandomBytes(8)));
  m["refs"] = std::move(refs);
  m["sig"] = rng.RandomBytes(64);
  m["digest"] = rng.RandomBytes(32);
  m["size"] = static_cast<int64_t>(rng.Below(1ULL << 40));
  return Value(std::move(m));
}

struct RepoRecord {
  std::string key;  // collection/rkey
  Value value;
};

// The manifest/tag mix of a typical atcr user repo: 70% manifests (TID rkeys), 30% tags.
std::vector<RepoRecord> MakeRepoRecords(uint64_t seed, size_t n) {
  Rng rng(seed);
  std::vector<RepoRecord> out;
  out.reserve(n);
  int64_t micros = kEpochMicros;
  for (size_t i = 0; i < n; ++i) {
    micros += 1 + static_cast<int64_t>(rng.Below(10'000'000));
    if (rng.Below(10) < 7) {
      std::string rkey = atproto::Tid::FromParts(micros, static_cast<uint32_t>(rng.Below(1024)))
                             .ToString();
      out.push_back({"io.atcr.manifest/" + rkey, ManifestRecord(rng, micros)});
    } else {
      std::string tag = "v" + std::to_string(i / 10) + "." + std::to_string(i % 10);
      Value rec = TagRecord(rng, micros, tag);
      out.push_back({"io.atcr.tag/" + std::to_string(i) + "_" + tag, std::move(rec)});
    }
  }
  return out;
}

struct CborSet {
  std::vector<Value> values;
  std::vector<Bytes> encoded;
  size_t total_bytes = 0;
};

CborSet MakeCborSet(std::vector<Value> values) {
  CborSet s;
  s.values = std::move(values);
  for (const auto& v : s.values) {
    s.encoded.push_back(cbor::Encode(v));
    s.total_bytes += s.encoded.back().size();
  }
  return s;
}

const CborSet& RecordSet() {
  static const CborSet s = [] {
    std::vector<Value> v;
    for (auto& r : MakeRepoRecords(1, kRecordCount)) v.push_back(std::move(r.value));
    return MakeCborSet(std::move(v));
  }();
  return s;
}

const CborSet& BlobSet() {
  static const CborSet s = [] {
    Rng rng(2);
    std::vector<Value> v;
    for (size_t i = 0; i < kBlobMapCount; ++i) v.push_back(BlobHeavyMap(rng));
    return MakeCborSet(std::move(v));
  }();
  return s;
}

// 100k repo paths over three collections with realistic rkeys, and record-like CIDs.
const std::vector<std::pair<std::string, Cid>>& MstKeys() {
  static const auto keys = [] {
    Rng rng(3);
    std::vector<std::pair<std::string, Cid>> out;
    out.reserve(kMstKeys);
    int64_t micros = kEpochMicros;
    for (size_t i = 0; i < kMstKeys; ++i) {
      micros += 1 + static_cast<int64_t>(rng.Below(1'000'000));
      std::string tid =
          atproto::Tid::FromParts(micros, static_cast<uint32_t>(rng.Below(1024))).ToString();
      uint64_t c = rng.Below(10);
      std::string key = c < 6   ? "io.atcr.manifest/" + tid
                        : c < 9 ? "io.atcr.tag/" + std::string(kRepoNames[rng.Below(4)]) + "_v" +
                                      std::to_string(i)
                                : "io.atcr.sailor.star/" + tid;
      out.emplace_back(std::move(key), Cid::ForDagCbor(rng.RandomBytes(16)));
    }
    return out;
  }();
  return keys;
}

const crypto::PrivateKey& SigningKey() {
  static const crypto::PrivateKey key =
      crypto::PrivateKey::FromHex(crypto::KeyType::kK256, kSecretHex).value();
  return key;
}

struct RepoCar {
  Bytes car;
  Cid commit_cid;
  Cid data;
  Bytes unsigned_commit;  // the message the commit signature covers
  Bytes sig;
};

// A signed repo of 10k manifest/tag records, exported as a CAR.
const RepoCar& Repo() {
  static const RepoCar repo = [] {
    atproto::Mst tree;
    std::map<Cid, Bytes> record_blocks;
    for (auto& r : MakeRepoRecords(4, kRepoRecords)) {
      Bytes b = cbor::Encode(r.value);
      Cid cid = Cid::ForDagCbor(b);
      if (!tree.Put(r.key, cid).ok()) std::abort();
      record_blocks.emplace(cid, std::move(b));
    }
    if (tree.size() != kRepoRecords) std::abort();
    auto rev = atproto::Tid::FromParts(kEpochMicros + 86'400'000'000, 0);
    auto signed_commit =
        atproto::SignCommit(kDid, tree.RootCid(), rev, std::nullopt, SigningKey()).value();
    RepoCar out;
    out.car = atproto::WriteRepoCar(signed_commit, tree, record_blocks);
    out.commit_cid = signed_commit.cid;
    out.data = tree.RootCid();
    out.unsigned_commit = signed_commit.commit.UnsignedBytes();
    out.sig = signed_commit.commit.sig;
    return out;
  }();
  return repo;
}

// Full verification of a repo CAR, the work `atcr tool car verify` does: CAR framing and every
// block's CID, the commit (strict v3 decode, DID, signature), the MST (every node, shape, and
// canonical layout), and every record block (present, strict DAG-CBOR without floats, a map
// with a $type). Returns the record count.
Result<size_t> VerifyRepoCar(ByteSpan car, std::string_view did, const crypto::PublicKey& key) {
  atproto::MemoryBlockStore store;
  ATCR_ASSIGN_OR_RETURN(auto roots, atproto::ReadCarIntoStore(car, &store));
  auto commit_block = store.blocks().find(roots[0]);
  if (commit_block == store.blocks().end()) return NotFound("commit block missing");
  ATCR_ASSIGN_OR_RETURN(atproto::Commit commit, atproto::Commit::Decode(commit_block->second));
  if (commit.did != did) return InvalidArgument("commit is for another DID");
  ATCR_TRY(atproto::VerifyCommit(commit, key));
  ATCR_ASSIGN_OR_RETURN(atproto::Mst tree, atproto::Mst::Load(store, commit.data));
  cbor::DecodeLimits limits;
  limits.allow_floats = false;
  size_t n = 0;
  for (const auto& [path, cid] : tree.List()) {
    auto block = store.blocks().find(cid);
    if (block == store.blocks().end()) return NotFound("record block missing: " + path);
    ATCR_ASSIGN_OR_RETURN(Value record, cbor::Decode(block->second, limits));
    if (record.FindString("$type") == nullptr) return InvalidArgument("record without $type");
    ++n;
  }
  return n;
}

// ---- benchmarks ----

void CborEncode(benchmark::State& state, const CborSet& set) {
  for (auto _ : state) {
    for (const auto& v : set.values) {
      Bytes b = cbor::Encode(v);
      benchmark::DoNotOptimize(b.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * set.total_bytes));
  state.counters["bytes_per_op"] = static_cast<double>(set.total_bytes);
}

void CborDecode(benchmark::State& state, const CborSet& set) {
  for (auto _ : state) {
    for (const auto& b : set.encoded) {
      auto v = cbor::Decode(b);
      if (!v.ok()) {
        state.SkipWithError(v.error().message.c_str());
        return;
      }
      benchmark::DoNotOptimize(&*v);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * set.total_bytes));
  state.counters["bytes_per_op"] = static_cast<double>(set.total_bytes);
}

void MstBuild(benchmark::State& state) {
  const auto& keys = MstKeys();
  for (auto _ : state) {
    atproto::Mst tree;
    for (const auto& [k, v] : keys) {
      if (!tree.Put(k, v).ok()) {
        state.SkipWithError("Mst::Put failed");
        return;
      }
    }
    Cid root = tree.RootCid();
    benchmark::DoNotOptimize(root);
  }
}

void CarVerify(benchmark::State& state) {
  const RepoCar& repo = Repo();
  const std::string did_key = SigningKey().public_key().DidKey();
  for (auto _ : state) {
    auto key = crypto::PublicKey::FromDidKey(did_key);
    auto n = key.ok() ? VerifyRepoCar(repo.car, kDid, *key) : Result<size_t>(key.error());
    if (!n.ok() || *n != kRepoRecords) {
      state.SkipWithError(n.ok() ? "wrong record count" : n.error().message.c_str());
      return;
    }
  }
  state.counters["bytes_per_op"] = static_cast<double>(repo.car.size());
}

void K256Sign(benchmark::State& state) {
  const Bytes& msg = Repo().unsigned_commit;
  for (auto _ : state) {
    Bytes sig = SigningKey().Sign(msg);
    benchmark::DoNotOptimize(sig.data());
  }
}

// Like the reference's verifySignature(didKey, msg, sig): the key arrives as a did:key string.
void K256Verify(benchmark::State& state) {
  const RepoCar& repo = Repo();
  const std::string did_key = SigningKey().public_key().DidKey();
  for (auto _ : state) {
    auto key = crypto::PublicKey::FromDidKey(did_key);
    if (!key.ok() || !key->Verify(repo.unsigned_commit, repo.sig).ok()) {
      state.SkipWithError("signature does not verify");
      return;
    }
  }
}

// ---- inputs for the node side ----

void WriteFile(const std::filesystem::path& p, ByteSpan data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", p.c_str());
    std::exit(2);
  }
}

// Length-prefixed blocks: u32 big-endian length, then the DAG-CBOR bytes.
void WriteBlocks(const std::filesystem::path& p, const CborSet& set) {
  Bytes out;
  for (const auto& b : set.encoded) {
    uint32_t n = static_cast<uint32_t>(b.size());
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(n >> s));
    out.insert(out.end(), b.begin(), b.end());
  }
  WriteFile(p, out);
}

int WriteInputs(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  WriteBlocks(dir / "records.bin", RecordSet());
  WriteBlocks(dir / "blobs.bin", BlobSet());
  std::string keys;
  atproto::Mst tree;
  for (const auto& [k, v] : MstKeys()) {
    keys += k + " " + v.ToString() + "\n";
    if (!tree.Put(k, v).ok()) return 1;
  }
  WriteFile(dir / "mst-keys.txt", AsBytes(keys));
  const RepoCar& repo = Repo();
  WriteFile(dir / "repo.car", repo.car);
  auto verified = VerifyRepoCar(repo.car, kDid, SigningKey().public_key());
  if (!verified.ok()) {
    std::fprintf(stderr, "own repo CAR does not verify: %s\n", verified.error().message.c_str());
    return 1;
  }
  std::string json = "{\n";
  json += "  \"did\": \"" + std::string(kDid) + "\",\n";
  json += "  \"didKey\": \"" + SigningKey().public_key().DidKey() + "\",\n";
  json += "  \"privateKeyHex\": \"" + std::string(kSecretHex) + "\",\n";
  json += "  \"records\": " + std::to_string(RecordSet().encoded.size()) + ",\n";
  json += "  \"recordBytes\": " + std::to_string(RecordSet().total_bytes) + ",\n";
  json += "  \"blobMaps\": " + std::to_string(BlobSet().encoded.size()) + ",\n";
  json += "  \"blobBytes\": " + std::to_string(BlobSet().total_bytes) + ",\n";
  json += "  \"mstKeys\": " + std::to_string(MstKeys().size()) + ",\n";
  json += "  \"mstRoot\": \"" + tree.RootCid().ToString() + "\",\n";
  json += "  \"repoRecords\": " + std::to_string(*verified) + ",\n";
  json += "  \"repoCarBytes\": " + std::to_string(repo.car.size()) + ",\n";
  json += "  \"repoCommit\": \"" + repo.commit_cid.ToString() + "\",\n";
  json += "  \"repoData\": \"" + repo.data.ToString() + "\",\n";
  json += "  \"signMessageHex\": \"" + HexEncode(repo.unsigned_commit) + "\",\n";
  json += "  \"signatureHex\": \"" + HexEncode(repo.sig) + "\"\n";
  json += "}\n";
  WriteFile(dir / "inputs.json", AsBytes(json));
  std::printf("inputs written to %s\n", dir.c_str());
  return 0;
}

void RegisterAll() {
  using benchmark::kMicrosecond;
  using benchmark::kMillisecond;
  benchmark::RegisterBenchmark("cbor_encode_records", [](benchmark::State& s) {
    CborEncode(s, RecordSet());
  })->Unit(kMicrosecond)->UseRealTime();
  benchmark::RegisterBenchmark("cbor_encode_blobs", [](benchmark::State& s) {
    CborEncode(s, BlobSet());
  })->Unit(kMicrosecond)->UseRealTime();
  benchmark::RegisterBenchmark("cbor_decode_records", [](benchmark::State& s) {
    CborDecode(s, RecordSet());
  })->Unit(kMicrosecond)->UseRealTime();
  benchmark::RegisterBenchmark("cbor_decode_blobs", [](benchmark::State& s) {
    CborDecode(s, BlobSet());
  })->Unit(kMicrosecond)->UseRealTime();
  benchmark::RegisterBenchmark("mst_build_100k", MstBuild)->Unit(kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("car_verify_10k", CarVerify)->Unit(kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("k256_sign", K256Sign)->Unit(kMicrosecond)->UseRealTime();
  benchmark::RegisterBenchmark("k256_verify", K256Verify)->Unit(kMicrosecond)->UseRealTime();
}

}  // namespace
}  // namespace atcr

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string_view(argv[i]) == "--write-inputs") return atcr::WriteInputs(argv[i + 1]);
  }
  atcr::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
