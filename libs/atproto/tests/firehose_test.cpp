#include "atcr/atproto/firehose.h"

#include <gtest/gtest.h>

#include "atcr/atproto/car.h"
#include "atcr/atproto/commit.h"
#include "atcr/cbor/codec.h"

namespace atcr::atproto {
namespace {

using cbor::Cid;

TEST(Firehose, CommitFrameRoundTrip) {
  crypto::PrivateKey key = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  TidClock clock(2);
  Mst before;
  Mst after;
  Bytes rec = cbor::Encode(cbor::Value("record"));
  Cid rec_cid = Cid::ForDagCbor(rec);
  ASSERT_TRUE(after.Put("io.atcr.tag/latest", rec_cid).ok());
  Tid first = clock.Next();
  auto c = SignCommit("did:plc:abc", after.RootCid(), clock.Next(), std::nullopt, key);
  ASSERT_TRUE(c.ok());
  MstDiff diff = DiffMst(before, after);

  CommitEvent ev;
  ev.seq = 5;
  ev.repo = "did:plc:abc";
  ev.commit = c->cid;
  ev.rev = c->commit.rev;
  ev.since = first.ToString();
  ev.blocks = WriteCommitCar(*c, diff, {{rec_cid, rec}});
  ev.ops = diff.ops;
  ev.prev_data = before.RootCid();
  ev.time = "2026-01-01T00:00:00.000Z";

  Bytes msg = EncodeFrame(CommitFrame(ev));
  auto f = DecodeFrame(msg);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->header.op, 1);
  EXPECT_EQ(f->header.t, "#commit");
  auto back = CommitEvent::FromValue(f->body);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->seq, 5);
  EXPECT_EQ(back->commit, c->cid);
  EXPECT_EQ(back->since, ev.since);
  EXPECT_EQ(back->ops, ev.ops);
  EXPECT_EQ(back->prev_data, ev.prev_data);
  // The slice inside verifies.
  auto car = ReadCar(back->blocks);
  ASSERT_TRUE(car.ok());
  EXPECT_EQ(car->roots[0], c->cid);
  // Header key order as the reference sends it: t, op.
  size_t used = 0;
  auto header = cbor::DecodeFirst(msg, &used);
  ASSERT_TRUE(header.ok());
  std::string order;
  for (const auto& [k, _] : header->as_map()) order += k + ",";
  EXPECT_EQ(order, "t,op,");
  EXPECT_LT(used, msg.size());
}

TEST(Firehose, ErrorFrames) {
  Bytes msg = EncodeFrame(ErrorFrame("FutureCursor", "Cursor in the future."));
  auto f = DecodeFrame(msg);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->header.op, -1);
  EXPECT_EQ(*f->body.FindString("error"), "FutureCursor");
}

TEST(Firehose, RejectsMalformed) {
  EXPECT_FALSE(DecodeFrame(Bytes{}).ok());
  EXPECT_FALSE(DecodeFrame(Bytes{0xa1, 0x62, 'o', 'p', 0x01}).ok());  // header only
  cbor::Value::Map h;
  h["op"] = 7;
  Bytes bad = cbor::Encode(cbor::Value(h));
  cbor::EncodeTo(cbor::Value::EmptyMap(), bad);
  EXPECT_FALSE(DecodeFrame(bad).ok());
  EXPECT_EQ(DecodeFrame(Bytes(100, 0), 10).error().code, ErrorCode::kResourceExhausted);
  cbor::Value::Map body;
  body["seq"] = 1;
  EXPECT_FALSE(CommitEvent::FromValue(cbor::Value(body)).ok());
}

}  // namespace
}  // namespace atcr::atproto
