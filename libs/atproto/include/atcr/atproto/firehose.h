// Firehose frames of com.atproto.sync.subscribeRepos: each binary WebSocket message is two
// concatenated DAG-CBOR items, a header {op, t} then a body. op 1 = message of type t
// ("#commit", "#sync", "#identity", "#account", "#info"), op -1 = error {error, message}.
// CommitEvent maps the #commit body. Decoding is bounded (frame size, ops, CAR slice size)
// and strict about types; unknown extra body fields are ignored. Pure functions.
//
//   Bytes msg = atproto::EncodeFrame(atproto::CommitFrame(event));
//   ATCR_ASSIGN_OR_RETURN(atproto::Frame f, atproto::DecodeFrame(msg));
//   if (f.header.t == "#commit") { ATCR_ASSIGN_OR_RETURN(auto ev, CommitEvent::FromValue(f.body)); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "atcr/atproto/mst.h"
#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/cbor/cid.h"
#include "atcr/cbor/value.h"

namespace atcr::atproto {

inline constexpr size_t kMaxFrameBytes = 5 * 1024 * 1024;
inline constexpr size_t kMaxCommitOps = 200;
inline constexpr size_t kMaxCommitBlocksBytes = 2'000'000;

struct FrameHeader {
  int64_t op = 1;  // 1 = message, -1 = error
  std::string t;   // message type, e.g. "#commit"; empty for errors
};

struct Frame {
  FrameHeader header;
  cbor::Value body;
};

Bytes EncodeFrame(const Frame& frame);
Result<Frame> DecodeFrame(ByteSpan message, size_t max_bytes = kMaxFrameBytes);
// {op: -1} + {error, message}.
Frame ErrorFrame(std::string_view error, std::string_view message = {});

struct CommitEvent {
  int64_t seq = 0;
  std::string repo;                    // DID
  cbor::Cid commit;
  std::string rev;
  std::optional<std::string> since;    // previous rev; null for a repo's first commit
  Bytes blocks;                        // CAR slice, root = commit
  std::vector<RecordOp> ops;
  std::optional<cbor::Cid> prev_data;  // previous commit's data (MST root)
  std::string time;                    // RFC 3339

  cbor::Value ToValue() const;
  static Result<CommitEvent> FromValue(const cbor::Value& body);
};

Frame CommitFrame(const CommitEvent& event);

}  // namespace atcr::atproto
