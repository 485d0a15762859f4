#include "atcr/pds/firehose.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "atcr/atproto/firehose.h"
#include "atcr/net/signal.h"
#include "repo_test_support.h"

namespace atcr::pds {
namespace {

using namespace std::chrono_literals;
constexpr char kDid[] = "did:plc:abcdefghijklmnopqrstuvwx";

// A WebSocket that records what is sent; sends can be held back to play a slow consumer.
class FakeSocket : public net::WebSocket {
 public:
  net::Task<Result<void>> SendBinary(ByteSpan data) override {
    while (hold_.load() && open_.load()) co_await release_.Wait(20ms);
    if (!open_.load()) co_return Error(ErrorCode::kUnavailable, "closed");
    std::lock_guard lock(mu_);
    sent_.emplace_back(data.begin(), data.end());
    co_return Ok();
  }
  net::Task<Result<void>> SendText(std::string_view) override { co_return Ok(); }
  net::Task<Result<net::WebSocketMessage>> Receive() override {
    co_return Error(ErrorCode::kUnavailable, "not used");
  }
  net::Task<void> Close(uint16_t code, std::string reason) override {
    std::lock_guard lock(mu_);
    close_code_ = code;
    close_reason_ = std::move(reason);
    open_ = false;
    co_return;
  }
  bool is_open() const override { return open_.load(); }
  const std::string& remote() const override { return remote_; }

  void Hold(bool h) {
    hold_ = h;
    if (!h) release_.Notify();
  }
  void Disconnect() { open_ = false; }
  std::vector<Bytes> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }
  int close_code() {
    std::lock_guard lock(mu_);
    return close_code_;
  }
  std::string close_reason() {
    std::lock_guard lock(mu_);
    return close_reason_;
  }

 private:
  std::mutex mu_;
  std::vector<Bytes> sent_;
  std::atomic<bool> hold_{false};
  std::atomic<bool> open_{true};
  net::Signal release_;
  int close_code_ = 0;
  std::string close_reason_;
  std::string remote_ = "test";
};

// Waits (bounded) for a condition that another thread makes true.
template <typename F>
bool WaitFor(F f, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::vector<int64_t> Seqs(const std::vector<Bytes>& frames) {
  std::vector<int64_t> out;
  for (const Bytes& b : frames) {
    auto f = atproto::DecodeFrame(b);
    EXPECT_TRUE(f.ok());
    if (f.ok() && f->header.op == 1 && f->header.t != "#info") out.push_back(*f->body.FindInt("seq"));
  }
  return out;
}

class FirehoseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RepoStoreOptions opts;
    opts.data_dir = dir_.path();
    opts.durable = false;
    auto s = RepoStore::Open(opts);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    ASSERT_TRUE(store_->CreateRepo(kDid, key_).ok());  // seq 1 and 2
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (firehose_) firehose_->Stop();
    for (auto& s : sockets_) s->Disconnect();
    EXPECT_TRUE(WaitFor([&] { return running_.load() == 0; }));
    work_.reset();
    io_thread_.join();
  }

  void MakeFirehose(FirehoseOptions opts = {}) {
    firehose_ = std::make_unique<Firehose>(*store_, std::move(opts));
  }

  FakeSocket& Subscribe(std::optional<int64_t> cursor) {
    sockets_.push_back(std::make_unique<FakeSocket>());
    FakeSocket& ws = *sockets_.back();
    ++running_;
    boost::asio::co_spawn(
        io_,
        [this, &ws, cursor]() -> net::Task<void> {
          co_await firehose_->Serve(ws, cursor);
          --running_;
        },
        boost::asio::detached);
    return ws;
  }

  void Write(int n) {
    for (int i = 0; i < n; ++i) {
      auto r = store_->ApplyWrites(kDid, key_, {testing::Create("app.example.thing", "", "{}")},
                                   std::nullopt);
      ASSERT_TRUE(r.ok()) << r.error().message;
    }
  }

  static std::vector<int64_t> Range(int64_t from, int64_t to) {
    std::vector<int64_t> out;
    for (int64_t s = from; s <= to; ++s) out.push_back(s);
    return out;
  }

  testing::RepoTempDir dir_;
  crypto::PrivateKey key_ = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  std::unique_ptr<RepoStore> store_;
  std::unique_ptr<Firehose> firehose_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_.get_executor()};
  std::thread io_thread_;
  std::vector<std::unique_ptr<FakeSocket>> sockets_;
  std::atomic<int> running_{0};
};

TEST_F(FirehoseTest, LiveConsumerGetsEveryNewEventInOrder) {
  MakeFirehose();
  EXPECT_EQ(firehose_->head_seq(), 2);
  FakeSocket& ws = Subscribe(std::nullopt);
  ASSERT_TRUE(WaitFor([&] { return firehose_->consumers() == 1; }));
  Write(5);
  ASSERT_TRUE(WaitFor([&] { return ws.sent().size() == 5; }));
  EXPECT_EQ(Seqs(ws.sent()), Range(3, 7));
  // The frames are the stored ones, byte for byte.
  auto stored = store_->ReadEvents(2, 10);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 5u);
  EXPECT_EQ(ws.sent()[0], *(*stored)[0].frame);
}

TEST_F(FirehoseTest, CursorReplaysFromTheStoreThenGoesLive) {
  Write(10);  // seq 3..12, before the firehose exists: only SQLite has them
  FirehoseOptions opts;
  opts.replay_page = 3;
  MakeFirehose(opts);
  FakeSocket& ws = Subscribe(4);
  ASSERT_TRUE(WaitFor([&] { return ws.sent().size() == 8; }));
  Write(2);
  ASSERT_TRUE(WaitFor([&] { return ws.sent().size() == 10; }));
  EXPECT_EQ(Seqs(ws.sent()), Range(5, 14));
  FakeSocket& all = Subscribe(0);
  ASSERT_TRUE(WaitFor([&] { return all.sent().size() == 14; }));
  EXPECT_EQ(Seqs(all.sent()), Range(1, 14));
}

TEST_F(FirehoseTest, ReplayRacingWritersHasNoGapsOrDuplicates) {
  Write(20);
  FirehoseOptions opts;
  opts.replay_page = 2;
  opts.ring_events = 5;  // most of the history must come from SQLite
  MakeFirehose(opts);
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; i < 60; ++i) Write(1);
    writing = false;
  });
  std::vector<FakeSocket*> consumers;
  for (int64_t cursor : {0, 5, 17}) consumers.push_back(&Subscribe(cursor));
  writer.join();
  int64_t head = store_->LastSeq();
  ASSERT_EQ(head, 82);
  for (size_t i = 0; i < consumers.size(); ++i) {
    int64_t from = i == 0 ? 1 : (i == 1 ? 6 : 18);
    ASSERT_TRUE(WaitFor([&] { return Seqs(consumers[i]->sent()).size() == size_t(head - from + 1); }))
        << "consumer " << i << " has " << consumers[i]->sent().size();
    EXPECT_EQ(Seqs(consumers[i]->sent()), Range(from, head)) << "consumer " << i;
  }
}

TEST_F(FirehoseTest, FutureCursorGetsTheReferenceErrorFrameAndClose) {
  MakeFirehose();
  FakeSocket& ws = Subscribe(999);
  ASSERT_TRUE(WaitFor([&] { return !ws.is_open(); }));
  ASSERT_EQ(ws.sent().size(), 1u);
  auto f = atproto::DecodeFrame(ws.sent()[0]);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->header.op, -1);
  EXPECT_TRUE(f->header.t.empty());
  EXPECT_EQ(*f->body.FindString("error"), "FutureCursor");
  EXPECT_EQ(*f->body.FindString("message"), "Cursor in the future.");
  EXPECT_EQ(ws.close_code(), 1008);
  EXPECT_EQ(ws.close_reason(), "FutureCursor");
  // The newest seq itself is a valid cursor (nothing to replay yet).
  FakeSocket& ok = Subscribe(2);
  ASSERT_TRUE(WaitFor([&] { return firehose_->consumers() == 1; }));
  Write(1);
  ASSERT_TRUE(WaitFor([&] { return ok.sent().size() == 1; }));
  EXPECT_EQ(Seqs(ok.sent()), std::vector<int64_t>{3});
}

TEST_F(FirehoseTest, OutdatedCursorGetsInfoAndStartsAtTheWindow) {
  Write(3);
  FirehoseOptions opts;
  opts.backfill_window = std::chrono::milliseconds(0);
  MakeFirehose(opts);
  FakeSocket& ws = Subscribe(0);
  ASSERT_TRUE(WaitFor([&] { return ws.sent().size() == 1 && firehose_->consumers() == 1; }));
  auto info = atproto::DecodeFrame(ws.sent()[0]);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->header.t, "#info");
  EXPECT_EQ(*info->body.FindString("name"), "OutdatedCursor");
  EXPECT_EQ(*info->body.FindString("message"),
            "Requested cursor exceeded limit. Possibly missing events");
  Write(1);
  ASSERT_TRUE(WaitFor([&] { return ws.sent().size() == 2; }));
  EXPECT_EQ(Seqs(ws.sent()), std::vector<int64_t>{6});
}

TEST_F(FirehoseTest, SlowConsumerIsDroppedAndWritersNeverWait) {
  FirehoseOptions opts;
  opts.max_queued_frames = 4;
  MakeFirehose(opts);
  FakeSocket& slow = Subscribe(std::nullopt);
  FakeSocket& fast = Subscribe(std::nullopt);
  ASSERT_TRUE(WaitFor([&] { return firehose_->consumers() == 2; }));
  slow.Hold(true);
  Write(1);  // the slow one takes this frame and then blocks in its send
  ASSERT_TRUE(WaitFor([&] { return fast.sent().size() == 1; }));
  // Writes complete although the slow consumer reads nothing; the fast one keeps up (each
  // write waits for it, so only the slow one's queue grows).
  for (size_t i = 2; i <= 11; ++i) {
    Write(1);
    ASSERT_TRUE(WaitFor([&] { return fast.sent().size() == i; }));
  }
  ASSERT_TRUE(WaitFor([&] { return firehose_->dropped_consumers() == 1; }))
      << "dropped " << firehose_->dropped_consumers() << " slow sent " << slow.sent().size()
      << " fast sent " << fast.sent().size() << " head " << firehose_->head_seq();
  slow.Hold(false);
  ASSERT_TRUE(WaitFor([&] { return !slow.is_open(); }));
  auto frames = slow.sent();
  ASSERT_FALSE(frames.empty());
  auto last = atproto::DecodeFrame(frames.back());
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->header.op, -1);
  EXPECT_EQ(*last->body.FindString("error"), "ConsumerTooSlow");
  EXPECT_EQ(slow.close_code(), 1008);
  EXPECT_EQ(slow.close_reason(), "ConsumerTooSlow");
  // The other consumer got everything.
  ASSERT_TRUE(WaitFor([&] { return fast.sent().size() == 11; }));
  EXPECT_EQ(Seqs(fast.sent()), Range(3, 13));
  EXPECT_TRUE(fast.is_open());
}

TEST_F(FirehoseTest, StopEndsSessionsAndDeletedReposLeaveTheRing) {
  MakeFirehose();
  Write(3);
  ASSERT_TRUE(store_->DeleteRepo(kDid).ok());
  FakeSocket& replay = Subscribe(0);
  ASSERT_TRUE(WaitFor([&] { return firehose_->consumers() == 1; }));
  // Every event of the deleted repo is gone, from SQLite and from memory.
  EXPECT_TRUE(WaitFor([&] { return firehose_->consumers() == 1; }));
  ASSERT_TRUE(store_->AppendAccountEvent(kDid, false, "deleted").ok());
  ASSERT_TRUE(WaitFor([&] { return replay.sent().size() == 1; }));
  auto f = atproto::DecodeFrame(replay.sent()[0]);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->header.t, "#account");
  EXPECT_EQ(*f->body.FindInt("seq"), 6);
  firehose_->Stop();
  ASSERT_TRUE(WaitFor([&] { return !replay.is_open(); }));
  EXPECT_EQ(replay.close_code(), 1001);
  FakeSocket& late = Subscribe(std::nullopt);
  ASSERT_TRUE(WaitFor([&] { return !late.is_open(); }));
  EXPECT_EQ(late.close_code(), 1001);
}

}  // namespace
}  // namespace atcr::pds
