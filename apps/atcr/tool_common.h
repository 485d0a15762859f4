// Shared wiring for `atcr tool ...`: the subcommand groups each tool_*.cpp file adds under
// `atcr tool`, input reading (FILE or "-" for stdin, bounded), and the one way every tool
// command reports a failure (a line on stderr naming the command, and an exit code).
// Exit codes: 0 ok, 1 the input is invalid / verification failed, 2 usage or I/O problem
// (unreadable file, peer unreachable, key not obtainable).
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>
#include <string>
#include <string_view>

#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/crypto/keys.h"
#include "atcr/identity/resolver.h"

namespace atcr::app::tool {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;
inline constexpr int kExitUsage = 2;

// Subcommand groups, one per tool_*.cpp file; tool_cmd.cpp calls them in this order.
void AddDataCommands(CLI::App& tool, int* exit_code);      // cid, cbor, mst, syntax
void AddKeyCommands(CLI::App& tool, int* exit_code);       // key, sig, jwt
void AddRepoCommands(CLI::App& tool, int* exit_code);      // car, repo
void AddIdentityCommands(CLI::App& tool, int* exit_code);  // resolve

// Runs `body` as the command `name` ("car verify"); its return value is the exit code.
// Exceptions (which must not happen, but a CLI must never die with a stack of C++ noise) become
// exit 2 with a message.
void Run(std::string_view name, int* exit_code, const std::function<int()>& body);

// Prints "atcr tool <name>: <message>" on stderr and returns `code`.
int Fail(std::string_view name, std::string_view message, int code);
int Fail(std::string_view name, const Error& error, int code);

// Reads a whole file, or stdin for "-". Errors (kNotFound, kResourceExhausted, ...) name the
// path and the limit.
Result<Bytes> ReadInput(const std::string& path, size_t max_bytes);
// Streams a file (or stdin for "-") to `chunk` in pieces of at most `chunk_size` bytes; stops
// at the first error `chunk` returns.
Status StreamInput(const std::string& path, size_t chunk_size,
                   const std::function<Status(ByteSpan)>& chunk);
// Writes bytes to a file (created 0644, replaced) or to stdout for "-".
Status WriteOutput(const std::string& path, ByteSpan data);

// Options shared by every command that may resolve a DID or a handle.
struct ResolveFlags {
  std::string plc_url = "https://plc.directory";
  std::vector<std::string> handle_overrides;  // "SUFFIX=URL"
  bool no_dns = false;
  int timeout_ms = 10000;

  void Add(CLI::App* cmd);
  Result<identity::ResolverOptions> ToOptions() const;
};

// The current #atproto signing key of `did`, resolved with `flags`.
Result<crypto::PublicKey> ResolveSigningKey(const ResolveFlags& flags, std::string_view did);

// Base64 in either alphabet, padding optional (what people paste).
Result<Bytes> DecodeBase64Loose(std::string_view text);

}  // namespace atcr::app::tool
