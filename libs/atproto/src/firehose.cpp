#include "atcr/atproto/firehose.h"

#include "atcr/atproto/syntax.h"
#include "atcr/cbor/codec.h"

namespace atcr::atproto {

using cbor::Cid;
using cbor::Value;

Bytes EncodeFrame(const Frame& frame) {
  Value::Map h;
  h["op"] = frame.header.op;
  if (!frame.header.t.empty()) h["t"] = frame.header.t;
  Bytes out = cbor::Encode(Value(std::move(h)));
  cbor::EncodeTo(frame.body, out);
  return out;
}

Result<Frame> DecodeFrame(ByteSpan message, size_t max_bytes) {
  if (message.size() > max_bytes) {
    return ResourceExhausted("firehose frame larger than " + std::to_string(max_bytes) + " bytes");
  }
  cbor::DecodeLimits limits;
  limits.max_input_bytes = max_bytes;
  limits.allow_floats = false;
  size_t used = 0;
  auto header = cbor::DecodeFirst(message, &used, limits);
  if (!header.ok()) return InvalidArgument("firehose header: " + header.error().message);
  std::optional<int64_t> op = header->FindInt("op");
  if (!header->is_map() || !op || (*op != 1 && *op != -1)) {
    return InvalidArgument("firehose header must be {op: 1|-1, t?}");
  }
  Frame f;
  f.header.op = *op;
  if (const Value* t = header->Find("t")) {
    if (!t->is_string()) return InvalidArgument("firehose header t must be a string");
    f.header.t = t->as_string();
  }
  if (*op == 1 && f.header.t.empty()) return InvalidArgument("firehose message without type t");
  auto body = cbor::Decode(message.subspan(used), limits);
  if (!body.ok()) return InvalidArgument("firehose body: " + body.error().message);
  if (!body->is_map()) return InvalidArgument("firehose body must be a map");
  f.body = std::move(body).value();
  return f;
}

Frame ErrorFrame(std::string_view error, std::string_view message) {
  Frame f;
  f.header.op = -1;
  Value::Map body;
  body["error"] = std::string(error);
  if (!message.empty()) body["message"] = std::string(message);
  f.body = Value(std::move(body));
  return f;
}

Value CommitEvent::ToValue() const {
  Value::Map m;
  m["seq"] = seq;
  m["repo"] = repo;
  m["commit"] = commit;
  m["rev"] = rev;
  m["since"] = since ? Value(*since) : Value();
  m["blocks"] = blocks;
  Value::List op_list;
  for (const RecordOp& op : ops) {
    Value::Map o;
    o["action"] = RecordOpActionName(op.action);
    o["path"] = op.path;
    o["cid"] = op.cid ? Value(*op.cid) : Value();
    if (op.prev) o["prev"] = *op.prev;
    op_list.emplace_back(std::move(o));
  }
  m["ops"] = Value(std::move(op_list));
  if (prev_data) m["prevData"] = *prev_data;
  m["blobs"] = Value::EmptyList();
  m["tooBig"] = false;
  m["rebase"] = false;
  m["time"] = time;
  return Value(std::move(m));
}

Result<CommitEvent> CommitEvent::FromValue(const Value& body) {
  CommitEvent ev;
  std::optional<int64_t> seq = body.FindInt("seq");
  const std::string* repo = body.FindString("repo");
  const Cid* commit = body.FindLink("commit");
  const std::string* rev = body.FindString("rev");
  const Value* since = body.Find("since");
  const Bytes* blocks = body.FindBytes("blocks");
  const Value::List* ops = body.FindList("ops");
  const std::string* time = body.FindString("time");
  if (!seq || *seq < 0 || repo == nullptr || commit == nullptr || rev == nullptr ||
      since == nullptr || !(since->is_null() || since->is_string()) || blocks == nullptr ||
      ops == nullptr || time == nullptr) {
    return InvalidArgument(
        "#commit needs seq, repo, commit, rev, since (string or null), blocks, ops, time");
  }
  ATCR_TRY(ValidateDid(*repo));
  ATCR_TRY(ValidateTid(*rev));
  if (since->is_string()) ATCR_TRY(ValidateTid(since->as_string()));
  if (blocks->size() > kMaxCommitBlocksBytes) {
    return ResourceExhausted("#commit blocks larger than 2,000,000 bytes");
  }
  if (ops->size() > kMaxCommitOps) return ResourceExhausted("#commit has more than 200 ops");
  ev.seq = *seq;
  ev.repo = *repo;
  ev.commit = *commit;
  ev.rev = *rev;
  if (since->is_string()) ev.since = since->as_string();
  ev.blocks = *blocks;
  ev.time = *time;
  if (const Value* pd = body.Find("prevData"); pd != nullptr && !pd->is_null()) {
    if (!pd->is_link()) return InvalidArgument("#commit prevData must be a link");
    ev.prev_data = pd->as_link();
  }
  for (const Value& o : *ops) {
    const std::string* action = o.FindString("action");
    const std::string* path = o.FindString("path");
    const Value* cid = o.Find("cid");
    const Value* prev = o.Find("prev");
    if (action == nullptr || path == nullptr || cid == nullptr ||
        !(cid->is_null() || cid->is_link()) || (prev != nullptr && !prev->is_link() &&
                                               !prev->is_null())) {
      return InvalidArgument("#commit op needs action, path, cid (link or null), prev?");
    }
    ATCR_TRY(ValidateMstKey(*path));
    RecordOp op;
    op.path = *path;
    if (*action == "create") {
      op.action = RecordOp::Action::kCreate;
    } else if (*action == "update") {
      op.action = RecordOp::Action::kUpdate;
    } else if (*action == "delete") {
      op.action = RecordOp::Action::kDelete;
    } else {
      return InvalidArgument("#commit op has unknown action \"" + *action + "\"");
    }
    if (cid->is_link()) op.cid = cid->as_link();
    if (prev != nullptr && prev->is_link()) op.prev = prev->as_link();
    if ((op.action == RecordOp::Action::kDelete) == op.cid.has_value()) {
      return InvalidArgument("#commit op cid must be null exactly for deletes");
    }
    ev.ops.push_back(std::move(op));
  }
  return ev;
}

Frame CommitFrame(const CommitEvent& event) {
  Frame f;
  f.header.op = 1;
  f.header.t = "#commit";
  f.body = event.ToValue();
  return f;
}

}  // namespace atcr::atproto
