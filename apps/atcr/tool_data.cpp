// `atcr tool cid | cbor decode | cbor encode | mst root | mst height | syntax`: data-model,
// MST and identifier tools. Wiring over atcr::cbor and atcr::atproto.
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "atcr/atproto/mst.h"
#include "atcr/atproto/syntax.h"
#include "atcr/cbor/cid.h"
#include "atcr/cbor/codec.h"
#include "atcr/cbor/json.h"
#include "tool_common.h"

namespace atcr::app::tool {
namespace {

constexpr size_t kMaxDocumentBytes = 16 * 1024 * 1024;
constexpr size_t kMaxMstListingBytes = 256 * 1024 * 1024;

Result<cbor::Value> ReadJsonDocument(const std::string& path) {
  ATCR_ASSIGN_OR_RETURN(Bytes text, ReadInput(path, kMaxDocumentBytes));
  auto value = cbor::FromJsonText(AsString(text));
  if (!value.ok()) return InvalidArgument("not a JSON data-model document: " + value.error().message);
  return value;
}

void AddCid(CLI::App& tool, int* exit_code) {
  struct Flags {
    std::string input;
    bool raw = false;
    bool cbor_input = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = tool.add_subcommand(
      "cid", "CID of a JSON data-model document (encoded as DAG-CBOR), or of raw bytes");
  cmd->add_option("FILE", flags->input, "JSON document, or - for stdin")->required();
  cmd->add_flag("--raw", flags->raw, "hash the bytes as they are (raw codec, a blob's CID)");
  cmd->add_flag("--cbor", flags->cbor_input,
                "the input is DAG-CBOR already (checked to be canonical)");
  cmd->callback([flags, exit_code] {
    Run("cid", exit_code, [&] {
      if (flags->raw && flags->cbor_input) {
        return Fail("cid", "--raw and --cbor exclude each other", kExitUsage);
      }
      if (flags->raw || flags->cbor_input) {
        auto bytes = ReadInput(flags->input, kMaxDocumentBytes);
        if (!bytes.ok()) return Fail("cid", bytes.error(), kExitUsage);
        if (flags->raw) {
          std::printf("%s\n", cbor::Cid::ForRaw(*bytes).ToString().c_str());
          return kExitOk;
        }
        auto value = cbor::Decode(*bytes);
        if (!value.ok()) return Fail("cid", value.error(), kExitInvalid);
        std::printf("%s\n", cbor::Cid::ForDagCbor(*bytes).ToString().c_str());
        return kExitOk;
      }
      auto value = ReadJsonDocument(flags->input);
      if (!value.ok()) {
        return Fail("cid", value.error(),
                    value.error().code == ErrorCode::kInvalidArgument ? kExitInvalid : kExitUsage);
      }
      std::printf("%s\n", cbor::Cid::ForDagCbor(cbor::Encode(*value)).ToString().c_str());
      return kExitOk;
    });
  });
}

void AddCbor(CLI::App& tool, int* exit_code) {
  auto* group = tool.add_subcommand("cbor", "DAG-CBOR <-> JSON");
  group->require_subcommand(1);

  struct DecodeFlags {
    std::string input;
    bool hex = false;
  };
  auto dflags = std::make_shared<DecodeFlags>();
  auto* dec = group->add_subcommand("decode", "strict DAG-CBOR to JSON (one line)");
  dec->add_option("FILE", dflags->input, "CBOR bytes, or - for stdin")->required();
  dec->add_flag("--hex", dflags->hex, "the input is hex text rather than bytes");
  dec->callback([dflags, exit_code] {
    Run("cbor decode", exit_code, [&] {
      auto bytes = ReadInput(dflags->input, kMaxDocumentBytes);
      if (!bytes.ok()) return Fail("cbor decode", bytes.error(), kExitUsage);
      if (dflags->hex) {
        std::string text(AsString(*bytes));
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
          text.pop_back();
        }
        auto raw = HexDecode(text);
        if (!raw.ok()) return Fail("cbor decode", "input is not hex: " + raw.error().message, kExitInvalid);
        *bytes = std::move(*raw);
      }
      auto value = cbor::Decode(*bytes);
      if (!value.ok()) return Fail("cbor decode", value.error(), kExitInvalid);
      std::printf("%s\n", cbor::ToJsonText(*value).c_str());
      return kExitOk;
    });
  });

  struct EncodeFlags {
    std::string input;
    std::string output = "-";
    bool hex = false;
  };
  auto eflags = std::make_shared<EncodeFlags>();
  auto* enc = group->add_subcommand("encode", "JSON data-model document to DAG-CBOR bytes");
  enc->add_option("FILE", eflags->input, "JSON document, or - for stdin")->required();
  enc->add_option("-o,--output", eflags->output, "output file (default: stdout)");
  enc->add_flag("--hex", eflags->hex, "write hex text (one line) instead of bytes");
  enc->callback([eflags, exit_code] {
    Run("cbor encode", exit_code, [&] {
      auto value = ReadJsonDocument(eflags->input);
      if (!value.ok()) {
        return Fail("cbor encode", value.error(),
                    value.error().code == ErrorCode::kInvalidArgument ? kExitInvalid : kExitUsage);
      }
      Bytes out = cbor::Encode(*value);
      if (eflags->hex) {
        std::string line = HexEncode(out) + "\n";
        out.assign(line.begin(), line.end());
      }
      Status s = WriteOutput(eflags->output, out);
      if (!s.ok()) return Fail("cbor encode", s.error(), kExitUsage);
      return kExitOk;
    });
  });
}

// Trims ASCII spaces, tabs and CR at both ends.
std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Lines "KEY CID" (blank lines and lines starting with '#' skipped) into a tree.
Result<atproto::Mst> ReadMstListing(std::string_view text) {
  atproto::Mst tree;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    size_t sep = line.find_first_of(" \t");
    if (sep == std::string_view::npos) {
      return InvalidArgument("line " + std::to_string(line_no) + ": expected \"KEY CID\"");
    }
    std::string_view key = line.substr(0, sep);
    std::string_view cid_text = Trim(line.substr(sep + 1));
    auto cid = cbor::Cid::Parse(cid_text);
    if (!cid.ok()) {
      return InvalidArgument("line " + std::to_string(line_no) + ": " + cid.error().message);
    }
    if (tree.Contains(key)) {
      return InvalidArgument("line " + std::to_string(line_no) + ": duplicate key " +
                             std::string(key));
    }
    Status put = tree.Put(key, *cid);
    if (!put.ok()) {
      return InvalidArgument("line " + std::to_string(line_no) + ": " + put.error().message);
    }
  }
  return tree;
}

void AddMst(CLI::App& tool, int* exit_code) {
  auto* group = tool.add_subcommand("mst", "Merkle Search Tree tools");
  group->require_subcommand(1);

  auto root_input = std::make_shared<std::string>();
  auto* root = group->add_subcommand("root", "root CID of the MST over lines \"KEY CID\"");
  root->add_option("FILE", *root_input, "lines KEY CID, or - for stdin")->required();
  root->callback([root_input, exit_code] {
    Run("mst root", exit_code, [&] {
      auto text = ReadInput(*root_input, kMaxMstListingBytes);
      if (!text.ok()) return Fail("mst root", text.error(), kExitUsage);
      auto tree = ReadMstListing(AsString(*text));
      if (!tree.ok()) return Fail("mst root", tree.error(), kExitInvalid);
      std::printf("%s\n", tree->RootCid().ToString().c_str());
      return kExitOk;
    });
  });

  auto key = std::make_shared<std::string>();
  auto* height = group->add_subcommand("height", "layer of a key: leading zero bit pairs of sha256");
  height->add_option("KEY", *key, "an MST key (any string)")->required();
  height->callback([key, exit_code] {
    Run("mst height", exit_code, [&] {
      std::printf("%d\n", atproto::MstKeyHeight(*key));
      return kExitOk;
    });
  });
}

const std::map<std::string, std::function<Status(std::string_view)>>& SyntaxKinds() {
  static const auto* kinds = new std::map<std::string, std::function<Status(std::string_view)>>{
      {"did", atproto::ValidateDid},
      {"handle", atproto::ValidateHandle},
      {"nsid", atproto::ValidateNsid},
      {"tid", atproto::ValidateTid},
      {"rkey", atproto::ValidateRecordKey},
      {"aturi", atproto::ValidateAtUri},
      {"datetime", atproto::ValidateDatetime},
      {"atidentifier", atproto::ValidateAtIdentifier},
      {"cid", atproto::ValidateCidSyntax},
      {"language", atproto::ValidateLanguage},
      {"uri", atproto::ValidateUri},
      {"repopath", atproto::ValidateRepoPath},
  };
  return *kinds;
}

void AddSyntax(CLI::App& tool, int* exit_code) {
  struct Flags {
    std::string kind;
    std::string value;
  };
  auto flags = std::make_shared<Flags>();
  std::vector<std::string> names;
  for (const auto& [name, fn] : SyntaxKinds()) names.push_back(name);
  auto* cmd = tool.add_subcommand(
      "syntax", "check an identifier: exit 0 valid, exit 1 with the reason on stderr");
  cmd->add_option("KIND", flags->kind, "did|handle|nsid|tid|rkey|aturi|datetime (also "
                                       "atidentifier, cid, language, uri, repopath)")
      ->required()
      ->check(CLI::IsMember(names));
  cmd->add_option("VALUE", flags->value, "the string to check")->required();
  cmd->callback([flags, exit_code] {
    Run("syntax", exit_code, [&] {
      Status s = SyntaxKinds().at(flags->kind)(flags->value);
      if (!s.ok()) return Fail("syntax " + flags->kind, "invalid: " + s.error().message, kExitInvalid);
      std::printf("valid\n");
      return kExitOk;
    });
  });
}

}  // namespace

void AddDataCommands(CLI::App& tool, int* exit_code) {
  AddCid(tool, exit_code);
  AddCbor(tool, exit_code);
  AddMst(tool, exit_code);
  AddSyntax(tool, exit_code);
}

}  // namespace atcr::app::tool
