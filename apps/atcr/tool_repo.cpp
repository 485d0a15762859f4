// `atcr tool car verify | car ls | repo build`: repository CAR files. Wiring over atcr::atproto
// (CarReader, Commit, Mst) and atcr::crypto; `car verify` resolves the DID through
// atcr::identity when no --key is given.
//
// The whole-repo check in VerifyRepo (every block canonical, commit + signature, MST shape,
// records) is what a repo importer also needs; it lives here until atproto offers it.
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "atcr/atproto/block_store.h"
#include "atcr/atproto/car.h"
#include "atcr/atproto/commit.h"
#include "atcr/atproto/mst.h"
#include "atcr/atproto/syntax.h"
#include "atcr/atproto/tid.h"
#include "atcr/cbor/codec.h"
#include "atcr/cbor/data_model.h"
#include "atcr/cbor/json.h"
#include "atcr/cbor/multicodec.h"
#include "tool_common.h"

namespace atcr::app::tool {
namespace {

constexpr size_t kReadChunk = 1024 * 1024;
constexpr size_t kMaxJsonlBytes = 512 * 1024 * 1024;

// A failure with the exit code it deserves (kExitInvalid: the CAR is bad; kExitUsage: I/O).
struct Failure {
  Error error;
  int code;
};

// A repo CAR read into memory: its blocks by CID, and what was noticed on the way.
struct LoadedCar {
  atproto::MemoryBlockStore store;
  std::vector<cbor::Cid> roots;
  size_t blocks_in_file = 0;
  std::vector<std::string> warnings;
};

// Streams the CAR at `path` into a block store. CarReader checks framing, limits and that every
// block hashes to its CID; with `strict_blocks` every block must also be dag-cbor in canonical
// DAG-CBOR form (decode, no floats, and re-encoding gives the same bytes).
std::optional<Failure> LoadCar(const std::string& path, bool strict_blocks, LoadedCar* out) {
  atproto::CarReader reader;
  std::optional<Error> car_error;
  auto drain = [&]() -> Status {
    while (std::optional<atproto::CarBlock> block = reader.NextBlock()) {
      ++out->blocks_in_file;
      const std::string cid_text = block->cid.ToString();
      if (strict_blocks) {
        if (block->cid.codec() != cbor::multicodec::kDagCbor) {
          char codec[24];
          std::snprintf(codec, sizeof codec, "0x%llx",
                        static_cast<unsigned long long>(block->cid.codec()));
          return InvalidArgument("block " + cid_text + " is not dag-cbor (codec " + codec + ")");
        }
        cbor::DecodeLimits limits;
        limits.allow_floats = false;
        auto value = cbor::Decode(block->data, limits);
        if (!value.ok()) {
          return InvalidArgument("block " + cid_text + " is not canonical DAG-CBOR: " +
                                 value.error().message);
        }
        if (cbor::Encode(*value) != block->data) {
          return InvalidArgument("block " + cid_text + " does not re-encode to the same bytes");
        }
      }
      if (out->store.Has(block->cid)) {
        out->warnings.push_back("duplicate block " + cid_text);
        continue;
      }
      out->store.Put(block->cid, std::move(block->data));
    }
    return Ok();
  };
  Status read = StreamInput(path, kReadChunk, [&](ByteSpan chunk) -> Status {
    Status s = reader.Feed(chunk);
    if (s.ok()) s = drain();
    if (!s.ok()) car_error = s.error();
    return s;
  });
  if (car_error) return Failure{*car_error, kExitInvalid};
  if (!read.ok()) return Failure{read.error(), kExitUsage};
  Status fin = reader.Finish();
  if (fin.ok()) fin = drain();
  if (!fin.ok()) return Failure{fin.error(), kExitInvalid};
  out->roots = reader.roots();
  if (out->roots.size() != 1) {
    return Failure{InvalidArgument("a repo CAR has exactly one root (the commit), this one has " +
                                   std::to_string(out->roots.size())),
                   kExitInvalid};
  }
  return std::nullopt;
}

// The commit block named by the CAR's root, strictly decoded.
Result<atproto::Commit> LoadCommit(const LoadedCar& car) {
  const cbor::Cid& root = car.roots.front();
  auto bytes = car.store.Get(root);
  if (!bytes.ok()) return InvalidArgument("commit block " + root.ToString() + " is not in the CAR");
  auto commit = atproto::Commit::Decode(*bytes);
  if (!commit.ok()) return InvalidArgument("bad commit: " + commit.error().message);
  return commit;
}

Result<atproto::Mst> LoadTree(const LoadedCar& car, const atproto::Commit& commit) {
  auto tree = atproto::Mst::Load(car.store, commit.data);
  if (!tree.ok()) return InvalidArgument("bad MST: " + tree.error().message);
  return tree;
}

struct VerifyFlags {
  std::string input;
  std::string did;
  std::string key;
  bool strict = false;
  bool json = false;
  ResolveFlags resolve;
};

int VerifyRepo(const VerifyFlags& flags) {
  constexpr std::string_view kName = "car verify";
  auto fail = [&](const Error& e, int code) {
    if (flags.json) {
      boost::json::object o;
      o["valid"] = false;
      o["error"] = e.message;
      std::printf("%s\n", boost::json::serialize(o).c_str());
    }
    return Fail(kName, e, code);
  };

  LoadedCar car;
  if (auto f = LoadCar(flags.input, /*strict_blocks=*/true, &car)) return fail(f->error, f->code);

  auto commit = LoadCommit(car);
  if (!commit.ok()) return fail(commit.error(), kExitInvalid);
  if (!flags.did.empty() && commit->did != flags.did) {
    return fail(InvalidArgument("commit is for " + commit->did + ", expected " + flags.did),
                kExitInvalid);
  }

  Result<crypto::PublicKey> key = Error(ErrorCode::kInternal, "no key");
  if (!flags.key.empty()) {
    key = crypto::PublicKey::FromDidKey(flags.key);
    if (!key.ok()) return fail(InvalidArgument("bad --key: " + key.error().message), kExitUsage);
  } else {
    key = ResolveSigningKey(flags.resolve, commit->did);
    if (!key.ok()) {
      return fail(Error(key.error().code, "cannot get the signing key of " + commit->did + ": " +
                                              key.error().message),
                  kExitUsage);
    }
  }
  Status sig = atproto::VerifyCommit(*commit, *key);
  if (!sig.ok()) {
    return fail(InvalidArgument("commit signature does not verify with " + key->DidKey() + ": " +
                                sig.error().message),
                kExitInvalid);
  }

  auto tree = LoadTree(car, *commit);
  if (!tree.ok()) return fail(tree.error(), kExitInvalid);

  std::set<cbor::Cid> referenced{car.roots.front()};
  for (const auto& [cid, bytes] : tree->Blocks()) referenced.insert(cid);
  std::map<std::string, size_t> collections;
  size_t records = 0;
  for (const auto& [path, cid] : tree->List()) {
    Status valid_path = atproto::ValidateRepoPath(path);
    if (!valid_path.ok()) {
      return fail(InvalidArgument("bad record path " + path + ": " + valid_path.error().message),
                  kExitInvalid);
    }
    auto bytes = car.store.Get(cid);
    if (!bytes.ok()) {
      return fail(InvalidArgument("record block " + cid.ToString() + " of " + path +
                                  " is not in the CAR"),
                  kExitInvalid);
    }
    // Every block already decoded canonically above; decode again to look inside the record.
    auto value = cbor::Decode(*bytes);
    if (!value.ok() || !value->is_map()) {
      return fail(InvalidArgument("record " + path + " is not a map"), kExitInvalid);
    }
    const std::string* type = value->FindString("$type");
    if (type == nullptr || type->empty()) {
      return fail(InvalidArgument("record " + path + " has no $type"), kExitInvalid);
    }
    Status data_model = cbor::ValidateAtprotoData(*value);
    if (!data_model.ok()) {
      return fail(InvalidArgument("record " + path + ": " + data_model.error().message),
                  kExitInvalid);
    }
    auto split = atproto::SplitRepoPath(path);
    std::string collection(split.ok() ? split->collection : std::string_view(path));
    if (*type != collection) {
      car.warnings.push_back("record " + path + " has $type " + *type);
    }
    ++collections[collection];
    ++records;
    referenced.insert(cid);
  }

  size_t unreferenced = 0;
  for (const auto& [cid, bytes] : car.store.blocks()) {
    if (!referenced.contains(cid)) ++unreferenced;
  }
  if (unreferenced > 0) {
    std::string msg = std::to_string(unreferenced) + " block(s) not reachable from the commit";
    if (flags.strict) return fail(InvalidArgument(msg), kExitInvalid);
    car.warnings.push_back(msg);
  }

  for (const std::string& w : car.warnings) Fail(kName, "warning: " + w, 0);
  if (flags.json) {
    boost::json::object o;
    o["valid"] = true;
    o["did"] = commit->did;
    o["rev"] = commit->rev;
    o["commit"] = car.roots.front().ToString();
    o["data"] = commit->data.ToString();
    o["records"] = records;
    boost::json::object cols;
    for (const auto& [c, n] : collections) cols[c] = n;
    o["collections"] = std::move(cols);
    o["mst_nodes"] = tree->Blocks().size();
    o["mst_layers"] = tree->RootLayer();
    o["blocks"] = car.blocks_in_file;
    o["unreferenced_blocks"] = unreferenced;
    o["key"] = key->DidKey();
    boost::json::array warnings;
    for (const std::string& w : car.warnings) warnings.emplace_back(w);
    o["warnings"] = std::move(warnings);
    std::printf("%s\n", boost::json::serialize(o).c_str());
  } else {
    std::printf("did %s\nrev %s\nrecords %zu\n", commit->did.c_str(), commit->rev.c_str(), records);
  }
  return kExitOk;
}

void AddCar(CLI::App& tool, int* exit_code) {
  auto* group = tool.add_subcommand("car", "repository CAR files");
  group->require_subcommand(1);

  auto vflags = std::make_shared<VerifyFlags>();
  auto* verify = group->add_subcommand(
      "verify",
      "fully verify a repo CAR (blocks, canonical CBOR, commit + signature, MST, records); "
      "prints did, rev, records");
  verify->add_option("FILE", vflags->input, "the CAR, or - for stdin")->required();
  verify->add_option("--did", vflags->did, "the repo must belong to this DID");
  verify->add_option("--key", vflags->key,
                     "did:key of the signing key (default: resolve the commit's DID)");
  verify->add_flag("--strict", vflags->strict, "blocks not reachable from the commit are errors");
  verify->add_flag("--json", vflags->json, "print a JSON summary");
  vflags->resolve.Add(verify);
  verify->callback([vflags, exit_code] {
    Run("car verify", exit_code, [&] { return VerifyRepo(*vflags); });
  });

  struct LsFlags {
    std::string input;
    std::string collection;
  };
  auto lflags = std::make_shared<LsFlags>();
  auto* ls = group->add_subcommand("ls", "list the records of a repo CAR: \"collection/rkey CID\"");
  ls->add_option("FILE", lflags->input, "the CAR, or - for stdin")->required();
  ls->add_option("--collection", lflags->collection, "only records of this collection");
  ls->callback([lflags, exit_code] {
    Run("car ls", exit_code, [&] {
      LoadedCar car;
      if (auto f = LoadCar(lflags->input, /*strict_blocks=*/false, &car)) {
        return Fail("car ls", f->error, f->code);
      }
      auto commit = LoadCommit(car);
      if (!commit.ok()) return Fail("car ls", commit.error(), kExitInvalid);
      auto tree = LoadTree(car, *commit);
      if (!tree.ok()) return Fail("car ls", tree.error(), kExitInvalid);
      std::string prefix = lflags->collection.empty() ? "" : lflags->collection + "/";
      for (const auto& [path, cid] : tree->List(prefix)) {
        std::printf("%s %s\n", path.c_str(), cid.ToString().c_str());
      }
      return kExitOk;
    });
  });
}

struct BuildFlags {
  std::string input;
  std::string output;
  std::string key_hex;
  std::string type = "k256";
  std::string did;
  std::string rev;
};

// Lines {"collection","rkey","record"} -> a tree plus the record blocks. A record without
// $type gets the collection as its $type, as the reference PDS does.
Status ReadRecords(std::string_view text, atproto::Mst* tree,
                   std::map<cbor::Cid, Bytes>* blocks) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto where = [&] { return "line " + std::to_string(line_no) + ": "; };
    auto doc = cbor::FromJsonText(line);
    if (!doc.ok()) return InvalidArgument(where() + doc.error().message);
    const std::string* collection = doc->FindString("collection");
    const std::string* rkey = doc->FindString("rkey");
    const cbor::Value* record = doc->Find("record");
    if (collection == nullptr || rkey == nullptr || record == nullptr || !record->is_map()) {
      return InvalidArgument(where() +
                             "expected {\"collection\": NSID, \"rkey\": KEY, \"record\": {...}}");
    }
    std::string path = *collection + "/" + *rkey;
    ATCR_TRY([&]() -> Status {
      Status s = atproto::ValidateNsid(*collection);
      if (s.ok()) s = atproto::ValidateRecordKey(*rkey);
      if (s.ok()) s = atproto::ValidateRepoPath(path);
      if (!s.ok()) return InvalidArgument(where() + s.error().message);
      return Ok();
    }());
    cbor::Value value = *record;
    if (value.Find("$type") == nullptr) value.as_map()["$type"] = *collection;
    Status data_model = cbor::ValidateAtprotoData(value);
    if (!data_model.ok()) return InvalidArgument(where() + data_model.error().message);
    if (tree->Contains(path)) return InvalidArgument(where() + "duplicate record " + path);
    Bytes bytes = cbor::Encode(value);
    cbor::Cid cid = cbor::Cid::ForDagCbor(bytes);
    ATCR_TRY(tree->Put(path, cid));
    blocks->emplace(cid, std::move(bytes));
  }
  return Ok();
}

void AddRepo(CLI::App& tool, int* exit_code) {
  auto* group = tool.add_subcommand("repo", "build repositories");
  group->require_subcommand(1);
  auto flags = std::make_shared<BuildFlags>();
  auto* build = group->add_subcommand(
      "build", "build a signed repo CAR from JSON lines {\"collection\",\"rkey\",\"record\"}");
  build->add_option("RECORDS", flags->input, "JSON lines file, or - for stdin")->required();
  build->add_option("-o,--output", flags->output, "the CAR to write (- for stdout)")->required();
  build->add_option("--key", flags->key_hex, "signing key, 64 hex characters")->required();
  build->add_option("--type", flags->type, "k256 (default) or p256");
  build->add_option("--did", flags->did, "the repo's DID")->required();
  build->add_option("--rev", flags->rev, "commit rev (a TID; default: now)");
  build->callback([flags, exit_code] {
    Run("repo build", exit_code, [&] {
      constexpr std::string_view kName = "repo build";
      auto type = crypto::ParseKeyType(flags->type);
      if (!type.ok()) return Fail(kName, type.error(), kExitUsage);
      auto key = crypto::PrivateKey::FromHex(*type, flags->key_hex);
      if (!key.ok()) return Fail(kName, "bad --key: " + key.error().message, kExitUsage);
      Status did_ok = atproto::ValidateDid(flags->did);
      if (!did_ok.ok()) return Fail(kName, "bad --did: " + did_ok.error().message, kExitUsage);
      atproto::Tid rev;
      if (flags->rev.empty()) {
        rev = atproto::TidClock().Next();
      } else {
        auto parsed = atproto::Tid::Parse(flags->rev);
        if (!parsed.ok()) return Fail(kName, "bad --rev: " + parsed.error().message, kExitUsage);
        rev = *parsed;
      }
      auto text = ReadInput(flags->input, kMaxJsonlBytes);
      if (!text.ok()) return Fail(kName, text.error(), kExitUsage);
      atproto::Mst tree;
      std::map<cbor::Cid, Bytes> records;
      Status read = ReadRecords(AsString(*text), &tree, &records);
      if (!read.ok()) return Fail(kName, read.error(), kExitInvalid);
      auto commit = atproto::SignCommit(flags->did, tree.RootCid(), rev, std::nullopt, *key);
      if (!commit.ok()) return Fail(kName, commit.error(), kExitInvalid);
      Bytes car = atproto::WriteRepoCar(*commit, tree, records);
      Status wrote = WriteOutput(flags->output, car);
      if (!wrote.ok()) return Fail(kName, wrote.error(), kExitUsage);
      if (flags->output != "-") {
        std::printf("commit %s\nrev %s\nrecords %zu\nbytes %zu\n", commit->cid.ToString().c_str(),
                    commit->commit.rev.c_str(), tree.size(), car.size());
      }
      return kExitOk;
    });
  });
}

}  // namespace

void AddRepoCommands(CLI::App& tool, int* exit_code) {
  AddCar(tool, exit_code);
  AddRepo(tool, exit_code);
}

}  // namespace atcr::app::tool
