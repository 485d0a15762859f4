// `atcr tool resolve HANDLE|DID`, and the resolver flags every tool that needs a DID's signing
// key shares. Wiring over atcr::identity.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "atcr/atproto/syntax.h"
#include "atcr/identity/resolver.h"
#include "tool_common.h"

namespace atcr::app::tool {

void ResolveFlags::Add(CLI::App* cmd) {
  cmd->add_option("--plc", plc_url, "PLC directory URL (default https://plc.directory)");
  cmd->add_option("--handle-override", handle_overrides,
                  "SUFFIX=URL: resolve handles ending in SUFFIX through URL/.well-known/"
                  "atproto-did (e.g. .test=http://127.0.0.1:2583); repeatable");
  cmd->add_flag("--no-dns", no_dns, "do not look up _atproto TXT records");
  cmd->add_option("--timeout-ms", timeout_ms, "timeout of each lookup (default 10000)");
}

Result<identity::ResolverOptions> ResolveFlags::ToOptions() const {
  identity::ResolverOptions options;
  options.plc_url = plc_url;
  while (!options.plc_url.empty() && options.plc_url.back() == '/') options.plc_url.pop_back();
  if (!options.plc_url.starts_with("http://") && !options.plc_url.starts_with("https://")) {
    return InvalidArgument("--plc must be an http(s) URL");
  }
  options.use_dns = !no_dns;
  if (timeout_ms <= 0) return InvalidArgument("--timeout-ms must be positive");
  options.timeout = std::chrono::milliseconds(timeout_ms);
  for (const std::string& o : handle_overrides) {
    size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == o.size()) {
      return InvalidArgument("--handle-override wants SUFFIX=URL, got \"" + o + "\"");
    }
    std::string suffix = o.substr(0, eq);
    if (suffix.front() != '.') suffix.insert(suffix.begin(), '.');
    std::string url = o.substr(eq + 1);
    while (!url.empty() && url.back() == '/') url.pop_back();
    options.handle_overrides[atproto::NormalizeHandle(suffix)] = url;
  }
  return options;
}

Result<crypto::PublicKey> ResolveSigningKey(const ResolveFlags& flags, std::string_view did) {
  ATCR_TRY(atproto::ValidateDid(did));
  ATCR_ASSIGN_OR_RETURN(identity::ResolverOptions options, flags.ToOptions());
  identity::Resolver resolver(std::move(options));
  // Only the DID document is needed (not the handle's way back), so run ResolveDid alone.
  std::string owned(did);
  std::optional<Result<identity::DidDocument>> doc;
  boost::asio::io_context io;
  boost::asio::co_spawn(
      io,
      [&]() -> net::Task<void> { doc.emplace(co_await resolver.ResolveDid(owned)); },
      boost::asio::detached);
  io.run();
  if (!doc) return Internal("DID resolution did not complete");
  if (!doc->ok()) return std::move(*doc).error();
  const std::string& key = (*doc)->signing_key;
  if (key.empty()) return NotFound(owned + " has no #atproto signing key");
  return crypto::PublicKey::FromDidKey(key);
}

namespace {

void AddResolve(CLI::App& tool, int* exit_code) {
  struct Flags {
    std::string id;
    bool json = false;
    ResolveFlags resolve;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = tool.add_subcommand(
      "resolve", "resolve a handle or DID: prints did, handle (verified both ways), pds, "
                 "signing_key");
  cmd->add_option("ID", flags->id, "a handle or a DID")->required();
  cmd->add_flag("--json", flags->json, "print one JSON object, with the DID document");
  flags->resolve.Add(cmd);
  cmd->callback([flags, exit_code] {
    Run("resolve", exit_code, [&] {
      if (!atproto::ValidateAtIdentifier(flags->id).ok()) {
        return Fail("resolve", "\"" + flags->id + "\" is neither a handle nor a DID", kExitInvalid);
      }
      auto options = flags->resolve.ToOptions();
      if (!options.ok()) return Fail("resolve", options.error(), kExitUsage);
      identity::Resolver resolver(std::move(*options));
      auto id = resolver.ResolveBlocking(flags->id);
      if (!id.ok()) {
        int code = id.error().code == ErrorCode::kNotFound ||
                           id.error().code == ErrorCode::kInvalidArgument
                       ? kExitInvalid
                       : kExitUsage;
        return Fail("resolve", "cannot resolve " + flags->id + ": " + id.error().message, code);
      }
      if (flags->json) {
        boost::json::object o;
        o["did"] = id->did;
        o["handle"] = id->handle;
        o["pds"] = id->pds_endpoint;
        o["signing_key"] = id->signing_key;
        boost::json::array aka;
        for (const auto& a : id->document.also_known_as) aka.emplace_back(a);
        o["also_known_as"] = std::move(aka);
        boost::json::object services;
        for (const auto& [name, url] : id->document.services) services[name] = url;
        o["services"] = std::move(services);
        std::printf("%s\n", boost::json::serialize(o).c_str());
      } else {
        std::printf("did %s\nhandle %s\npds %s\nsigning_key %s\n", id->did.c_str(),
                    id->handle.c_str(), id->pds_endpoint.empty() ? "-" : id->pds_endpoint.c_str(),
                    id->signing_key.empty() ? "-" : id->signing_key.c_str());
      }
      return kExitOk;
    });
  });
}

}  // namespace

void AddIdentityCommands(CLI::App& tool, int* exit_code) { AddResolve(tool, exit_code); }

}  // namespace atcr::app::tool
