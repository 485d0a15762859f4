#include "atcr/pds/repo_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>
#include <thread>

#include "atcr/atproto/firehose.h"
#include "atcr/atproto/syntax.h"
#include "atcr/base/time.h"
#include "repo_test_support.h"

namespace atcr::pds {
namespace {

using cbor::Cid;
using testing::Create;
using testing::Delete;
using testing::Put;
using testing::Update;

constexpr char kDid[] = "did:plc:abcdefghijklmnopqrstuvwx";
constexpr char kOther[] = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
constexpr char kEmptyTree[] = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm";

class Events : public EventListener {
 public:
  void OnEvent(const SequencedEvent& e) override {
    std::lock_guard lock(mu);
    events.push_back(e);
  }
  void OnRepoEventsDeleted(std::string_view did) override {
    std::lock_guard lock(mu);
    deleted.emplace_back(did);
  }
  std::mutex mu;
  std::vector<SequencedEvent> events;
  std::vector<std::string> deleted;
};

class RepoStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(RepoStoreOptions opts = {}) {
    store_.reset();
    opts.data_dir = dir_.path();
    opts.fsync_blobs = false;
    auto s = RepoStore::Open(std::move(opts));
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    store_->SetEventListener(&events_);
  }

  CommitInfo MakeRepo(const std::string& did = kDid) {
    auto c = store_->CreateRepo(did, key_);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? *c : CommitInfo{};
  }

  Result<WriteResult> Apply(std::vector<RepoWrite> w, std::optional<Cid> swap = std::nullopt,
                            std::optional<bool> validate = std::nullopt) {
    return store_->ApplyWrites(kDid, key_, std::move(w), swap, validate);
  }

  testing::LoadedRepo LoadRepo(const std::string& did = kDid) {
    auto car = testing::ExportCar(*store_, did);
    EXPECT_TRUE(car.ok()) << car.error().message;
    auto repo = testing::LoadRepoCar(*car, key_.public_key());
    EXPECT_TRUE(repo.ok()) << repo.error().message;
    return repo.ok() ? std::move(repo).value() : testing::LoadedRepo{};
  }

  testing::RepoTempDir dir_;
  crypto::PrivateKey key_ = crypto::PrivateKey::Generate(crypto::KeyType::kK256);
  Events events_;
  std::unique_ptr<RepoStore> store_;
};

atproto::Frame Decode(const SequencedEvent& e) {
  auto f = atproto::DecodeFrame(*e.frame);
  EXPECT_TRUE(f.ok()) << f.error().message;
  return f.ok() ? *f : atproto::Frame{};
}

TEST_F(RepoStoreTest, CreateRepoMakesAnEmptySignedRepoAndSequencesCommitThenSync) {
  CommitInfo c = MakeRepo();
  EXPECT_EQ(c.data.ToString(), kEmptyTree);
  EXPECT_TRUE(atproto::ValidateTid(c.rev).ok());
  auto root = store_->GetRoot(kDid);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->cid, c.cid);
  EXPECT_TRUE(store_->HasRepo(kDid));
  EXPECT_FALSE(store_->HasRepo(kOther));
  EXPECT_EQ(store_->GetRoot(kOther).error().wire, "RepoNotFound");

  auto again = store_->CreateRepo(kDid, key_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);

  testing::LoadedRepo repo = LoadRepo();
  EXPECT_EQ(repo.commit_cid, c.cid);
  EXPECT_TRUE(repo.tree.empty());

  ASSERT_EQ(events_.events.size(), 2u);
  atproto::Frame commit = Decode(events_.events[0]);
  EXPECT_EQ(commit.header.t, "#commit");
  auto evt = atproto::CommitEvent::FromValue(commit.body);
  ASSERT_TRUE(evt.ok()) << evt.error().message;
  EXPECT_EQ(evt->seq, 1);
  EXPECT_EQ(evt->commit, c.cid);
  EXPECT_FALSE(evt->since.has_value());
  EXPECT_FALSE(evt->prev_data.has_value());
  EXPECT_TRUE(evt->ops.empty());
  EXPECT_EQ(commit.body.Find("prevData"), nullptr);
  atproto::Frame sync = Decode(events_.events[1]);
  EXPECT_EQ(sync.header.t, "#sync");
  EXPECT_EQ(*sync.body.FindInt("seq"), 2);
  EXPECT_EQ(*sync.body.FindString("rev"), c.rev);
  auto car = atproto::ReadCar(*sync.body.FindBytes("blocks"));
  ASSERT_TRUE(car.ok());
  ASSERT_EQ(car->blocks.size(), 1u);
  EXPECT_EQ(car->blocks[0].cid, c.cid);
  EXPECT_EQ(store_->LastSeq(), 2);
}

TEST_F(RepoStoreTest, IdentityAndAccountEventsHaveTheReferenceFields) {
  ASSERT_TRUE(store_->AppendIdentityEvent(kDid, "alice.test").ok());
  ASSERT_TRUE(store_->AppendAccountEvent(kDid, true, std::nullopt).ok());
  ASSERT_TRUE(store_->AppendAccountEvent(kDid, false, "deactivated").ok());
  ASSERT_TRUE(store_->AppendIdentityEvent(kDid, std::nullopt).ok());
  ASSERT_EQ(events_.events.size(), 4u);
  atproto::Frame id = Decode(events_.events[0]);
  EXPECT_EQ(id.header.t, "#identity");
  EXPECT_EQ(*id.body.FindString("did"), kDid);
  EXPECT_EQ(*id.body.FindString("handle"), "alice.test");
  EXPECT_TRUE(atproto::ValidateDatetime(*id.body.FindString("time")).ok());
  EXPECT_EQ(id.body.as_map().size(), 4u);  // did, seq, time, handle
  atproto::Frame active = Decode(events_.events[1]);
  EXPECT_EQ(active.header.t, "#account");
  EXPECT_EQ(*active.body.FindBool("active"), true);
  EXPECT_EQ(active.body.Find("status"), nullptr);
  atproto::Frame off = Decode(events_.events[2]);
  EXPECT_EQ(*off.body.FindBool("active"), false);
  EXPECT_EQ(*off.body.FindString("status"), "deactivated");
  EXPECT_EQ(Decode(events_.events[3]).body.Find("handle"), nullptr);
  EXPECT_FALSE(store_->AppendIdentityEvent("not a did", std::nullopt).ok());
  EXPECT_FALSE(store_->AppendSyncEvent(kDid).ok());  // no repo yet
}

TEST_F(RepoStoreTest, CreateGetListUpdateDelete) {
  MakeRepo();
  auto r = Apply({Create("app.example.thing", "one", R"({"a":1})")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->commit.has_value());
  ASSERT_EQ(r->results.size(), 1u);
  EXPECT_EQ(r->results[0].uri, std::string("at://") + kDid + "/app.example.thing/one");
  EXPECT_EQ(r->results[0].validation_status, "unknown");
  // The record gets its $type, as the reference adds it.
  auto rec = store_->GetRecord(kDid, "app.example.thing", "one");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->cid, r->results[0].cid);
  EXPECT_EQ(cbor::ToJsonText(*cbor::Decode(rec->cbor)), R"({"a":1,"$type":"app.example.thing"})");
  EXPECT_EQ(store_->GetRecord(kDid, "app.example.thing", "one", r->results[0].cid)->cid,
            rec->cid);
  auto wrong_cid = store_->GetRecord(kDid, "app.example.thing", "one",
                                     *Cid::Parse(kEmptyTree));
  EXPECT_EQ(wrong_cid.error().wire, "RecordNotFound");
  auto missing = store_->GetRecord(kDid, "app.example.thing", "two");
  EXPECT_EQ(missing.error().wire, "RecordNotFound");
  EXPECT_EQ(missing.error().message,
            std::string("Could not locate record: at://") + kDid + "/app.example.thing/two");

  // A fresh TID rkey when none is given.
  auto tid = Apply({Create("app.example.thing", "", R"({"a":2})")});
  ASSERT_TRUE(tid.ok());
  auto uri = atproto::AtUri::Parse(tid->results[0].uri);
  ASSERT_TRUE(uri.ok());
  EXPECT_TRUE(atproto::ValidateTid(uri->rkey).ok());

  auto up = Apply({Update("app.example.thing", "one", R"({"a":3})")});
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_NE(store_->GetRecord(kDid, "app.example.thing", "one")->cid, rec->cid);
  auto del = Apply({Delete("app.example.thing", "one")});
  ASSERT_TRUE(del.ok()) << del.error().message;
  EXPECT_TRUE(del->results[0].cid.empty());
  EXPECT_FALSE(store_->GetRecord(kDid, "app.example.thing", "one").ok());
  auto cols = store_->ListCollections(kDid);
  ASSERT_TRUE(cols.ok());
  EXPECT_EQ(*cols, std::vector<std::string>{"app.example.thing"});

  // Revisions strictly increase commit after commit.
  std::string prev;
  for (const auto& e : events_.events) {
    auto f = Decode(e);
    if (f.header.t != "#commit") continue;
    std::string rev = *f.body.FindString("rev");
    EXPECT_GT(rev, prev);
    prev = rev;
  }
  testing::LoadedRepo repo = LoadRepo();
  EXPECT_EQ(repo.tree.size(), 1u);
}

TEST_F(RepoStoreTest, TypeAndValidationRulesFollowTheReference) {
  MakeRepo();
  auto typed = Apply({Create("app.example.thing", "a", R"({"$type":"app.example.other"})")});
  ASSERT_FALSE(typed.ok());
  EXPECT_EQ(typed.error().message,
            "Invalid $type: expected app.example.thing, got app.example.other");
  EXPECT_EQ(typed.error().code, ErrorCode::kInvalidArgument);

  auto unknown_strict = Apply({Create("app.example.thing", "a", R"({"x":1})")}, std::nullopt, true);
  ASSERT_FALSE(unknown_strict.ok());
  EXPECT_EQ(unknown_strict.error().message, "Unknown lexicon type: app.example.thing");

  auto unvalidated = Apply({Create("app.example.thing", "a", R"({"x":1})")}, std::nullopt, false);
  ASSERT_TRUE(unvalidated.ok());
  EXPECT_FALSE(unvalidated->results[0].validation_status.has_value());

  auto valid = Apply({Create("io.atcr.tag", "myapp_latest",
                             R"({"repository":"myapp","tag":"latest"})")});
  ASSERT_TRUE(valid.ok()) << valid.error().message;
  EXPECT_EQ(valid->results[0].validation_status, "valid");
  auto invalid = Apply({Create("io.atcr.tag", "bad", R"({"repository":"myapp"})")});
  ASSERT_FALSE(invalid.ok());
  EXPECT_TRUE(invalid.error().message.starts_with("Invalid io.atcr.tag record: "))
      << invalid.error().message;
  // validate:false skips the lexicon but never the data model.
  auto skipped = Apply({Create("io.atcr.tag", "bad", R"({"repository":"myapp"})")},
                       std::nullopt, false);
  EXPECT_TRUE(skipped.ok());

  auto legacy = Apply({Create("app.example.thing", "b",
                              R"({"img":{"cid":"bafkreihjs6x5dds7npqaj7azhlwszebjdzukwldvtgtckogjgw37zjvlb4","mimeType":"image/png"}})")});
  ASSERT_FALSE(legacy.ok());
  EXPECT_EQ(legacy.error().message,
            "Legacy blobs are not allowed "
            "(bafkreihjs6x5dds7npqaj7azhlwszebjdzukwldvtgtckogjgw37zjvlb4)");
  EXPECT_FALSE(Apply({Create("notnsid", "a", "{}")}).ok());
  EXPECT_FALSE(Apply({Create("app.example.thing", "bad/key", "{}")}).ok());
  RepoWrite not_object = Create("app.example.thing", "c", "{}");
  not_object.record = cbor::Value("str");
  EXPECT_FALSE(Apply({not_object}).ok());
}

TEST_F(RepoStoreTest, SwapsAndNoOpsFollowTheReference) {
  CommitInfo first = MakeRepo();
  auto created = Apply({Create("app.example.thing", "one", R"({"a":1})")});
  ASSERT_TRUE(created.ok());
  Cid cid = created->results[0].cid;

  auto stale = Apply({Create("app.example.thing", "two", "{}")}, first.cid);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().wire, "InvalidSwap");
  EXPECT_EQ(stale.error().message, "Commit was at " + created->commit->cid.ToString());
  EXPECT_TRUE(Apply({Create("app.example.thing", "two", "{}")}, created->commit->cid).ok());

  RepoWrite must_not_exist = Put("app.example.thing", "one", R"({"a":2})");
  must_not_exist.swap_record = std::optional<Cid>();
  auto e1 = Apply({must_not_exist});
  ASSERT_FALSE(e1.ok());
  EXPECT_EQ(e1.error().wire, "InvalidSwap");
  EXPECT_EQ(e1.error().message, "Record was at " + cid.ToString());

  RepoWrite absent = Put("app.example.thing", "three", R"({"a":2})");
  absent.swap_record = std::optional<Cid>(*Cid::Parse(kEmptyTree));
  auto e2 = Apply({absent});
  ASSERT_FALSE(e2.ok());
  EXPECT_EQ(e2.error().message, "Record was at null");

  RepoWrite right = Put("app.example.thing", "one", R"({"a":2})");
  right.swap_record = std::optional<Cid>(cid);
  auto ok = Apply({right});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->results[0].action, RepoWrite::Action::kUpdate);

  RepoWrite create_new = Put("app.example.thing", "four", R"({"a":4})");
  create_new.swap_record = std::optional<Cid>();
  auto c4 = Apply({create_new});
  ASSERT_TRUE(c4.ok()) << c4.error().message;
  EXPECT_EQ(c4->results[0].action, RepoWrite::Action::kCreate);

  // Unchanged putRecord: no commit, no event.
  size_t before = events_.events.size();
  auto same = Apply({Put("app.example.thing", "four", R"({"a":4})")});
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->commit.has_value());
  EXPECT_EQ(same->results[0].cid, c4->results[0].cid);
  EXPECT_EQ(events_.events.size(), before);

  // deleteRecord of a missing record: no-op, even with a swap.
  RepoWrite gone = Delete("app.example.thing", "nope");
  gone.ignore_missing = true;
  gone.swap_record = std::optional<Cid>(cid);
  auto noop = Apply({gone});
  ASSERT_TRUE(noop.ok());
  EXPECT_FALSE(noop->commit.has_value());
  RepoWrite wrong = Delete("app.example.thing", "one");
  wrong.ignore_missing = true;
  wrong.swap_record = std::optional<Cid>(cid);  // it is at the {"a":2} version now
  EXPECT_EQ(Apply({wrong}).error().wire, "InvalidSwap");

  // In a batch, no-op writes are dropped and the rest commits; a batch of only no-ops does not.
  RepoWrite skip = Delete("app.example.thing", "nope");
  skip.ignore_missing = true;
  auto mixed = Apply({skip, Put("app.example.thing", "four", R"({"a":4})"),
                      Put("app.example.thing", "five", R"({"a":5})")});
  ASSERT_TRUE(mixed.ok()) << mixed.error().message;
  ASSERT_TRUE(mixed->commit.has_value());
  ASSERT_EQ(mixed->results.size(), 3u);
  EXPECT_EQ(mixed->results[1].action, RepoWrite::Action::kUpdate);
  EXPECT_EQ(mixed->results[2].action, RepoWrite::Action::kCreate);
  auto commit_evt = atproto::CommitEvent::FromValue(Decode(events_.events.back()).body);
  ASSERT_TRUE(commit_evt.ok());
  ASSERT_EQ(commit_evt->ops.size(), 1u);
  EXPECT_EQ(commit_evt->ops[0].path, "app.example.thing/five");
  auto all_noop = Apply({skip, Put("app.example.thing", "five", R"({"a":5})")});
  ASSERT_TRUE(all_noop.ok());
  EXPECT_FALSE(all_noop->commit.has_value());

  // applyWrites: an empty batch still commits; create over an existing record and update or
  // delete of a missing one are errors; two writes to one record are refused.
  auto empty = Apply({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->commit.has_value());
  EXPECT_EQ(Apply({Create("app.example.thing", "one", "{}")}).error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(Apply({Update("app.example.thing", "zzz", "{}")}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Apply({Delete("app.example.thing", "zzz")}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(Apply({Update("app.example.thing", "one", "{}"),
                      Delete("app.example.thing", "one")})
                   .ok());
  EXPECT_EQ(store_->ApplyWrites(kOther, key_, {}, std::nullopt).error().wire, "RepoNotFound");
}

TEST_F(RepoStoreTest, LimitsAreEnforced) {
  RepoStoreOptions opts;
  opts.max_record_bytes = 1000;
  opts.max_commit_bytes = 20'000;
  Reopen(opts);
  MakeRepo();
  std::vector<RepoWrite> many;
  for (int i = 0; i < 201; ++i) many.push_back(Create("app.example.thing", "", "{}"));
  auto too_many = Apply(many);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().message, "Too many writes. Max: 200");
  std::string big = R"({"s":")" + std::string(2000, 'x') + R"("})";
  EXPECT_FALSE(Apply({Create("app.example.thing", "big", big)}).ok());
  std::vector<RepoWrite> heavy;
  std::string mid = R"({"s":")" + std::string(900, 'y');
  for (int i = 0; i < 40; ++i) {
    heavy.push_back(Create("app.example.thing", "h" + std::to_string(i), mid + std::to_string(i) + "\"}"));
  }
  auto too_big = Apply(heavy);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().message, "Too many writes. Max event size: 2MB");
  // Nothing of the refused writes was stored.
  EXPECT_TRUE(store_->ListRecords(kDid, "app.example.thing", 100, std::nullopt, false)->empty());
}

TEST_F(RepoStoreTest, ListRecordsPagesByRkeyBothWays) {
  MakeRepo();
  std::vector<RepoWrite> w;
  for (int i = 0; i < 25; ++i) {
    char rkey[8];
    snprintf(rkey, sizeof rkey, "k%02d", i);
    w.push_back(Create("app.example.thing", rkey, R"({"i":)" + std::to_string(i) + "}"));
  }
  w.push_back(Create("app.example.other", "x", "{}"));
  ASSERT_TRUE(Apply(std::move(w)).ok());
  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  while (true) {
    auto page = store_->ListRecords(kDid, "app.example.thing", 10, cursor, false);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const auto& r : *page) seen.push_back(r.rkey);
    cursor = page->back().rkey;
  }
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen.front(), "k24");
  EXPECT_EQ(seen.back(), "k00");
  auto asc = store_->ListRecords(kDid, "app.example.thing", 3, std::string("k10"), true);
  ASSERT_TRUE(asc.ok());
  ASSERT_EQ(asc->size(), 3u);
  EXPECT_EQ((*asc)[0].rkey, "k11");
  EXPECT_EQ(store_->ListRecords(kDid, "app.example.thing", 1000, std::nullopt, false)->size(),
            100u > 25u ? 25u : 100u);
  EXPECT_EQ(store_->ListRecords(kDid, "app.example.thing", 0, std::nullopt, false)->size(), 1u);
  EXPECT_EQ(*store_->ListCollections(kDid),
            (std::vector<std::string>{"app.example.other", "app.example.thing"}));
}

TEST_F(RepoStoreTest, ExportLoadsBackAndSinceExportsOnlyNewerBlocks) {
  MakeRepo();
  std::mt19937 rng(3);
  std::set<std::string> present;
  std::string mid_rev;
  for (int round = 0; round < 40; ++round) {
    std::vector<RepoWrite> w;
    std::set<std::string> touched;
    for (int i = 0; i < 5; ++i) {
      std::string rkey = "r" + std::to_string(rng() % 60);
      if (!touched.insert(rkey).second) continue;
      if (present.contains(rkey)) {
        if (rng() % 3 == 0) {
          w.push_back(Delete("app.example.thing", rkey));
          present.erase(rkey);
        } else {
          w.push_back(Update("app.example.thing", rkey,
                             R"({"v":)" + std::to_string(rng() % 1000) + "}"));
        }
      } else {
        w.push_back(Create("app.example.thing", rkey, R"({"v":)" + std::to_string(round) + "}"));
        present.insert(rkey);
      }
    }
    auto r = Apply(std::move(w));
    ASSERT_TRUE(r.ok()) << r.error().message;
    if (round == 20) mid_rev = r->commit->rev;
  }
  testing::LoadedRepo repo = LoadRepo();
  std::set<std::string> keys;
  for (const auto& [k, c] : repo.tree.List()) keys.insert(k.substr(strlen("app.example.thing/")));
  EXPECT_EQ(keys, present);
  EXPECT_EQ(repo.commit.data, store_->GetRoot(kDid)->data);
  // Exactly the current repo's blocks are stored: commit + MST nodes + records (no garbage).
  auto full = testing::ExportCar(*store_, kDid);
  auto parsed = atproto::ReadCar(*full);
  ASSERT_TRUE(parsed.ok());
  std::set<Cid> records;
  for (const auto& [k, c] : repo.tree.List()) records.insert(c);
  EXPECT_EQ(parsed->blocks.size(), 1 + repo.tree.Blocks().size() + records.size());

  auto since = testing::ExportCar(*store_, kDid, mid_rev);
  ASSERT_TRUE(since.ok());
  auto part = atproto::ReadCar(*since);
  ASSERT_TRUE(part.ok());
  EXPECT_LT(part->blocks.size(), parsed->blocks.size());
  EXPECT_EQ(part->blocks.front().cid, repo.commit_cid);
  EXPECT_EQ(testing::ExportCar(*store_, kOther).error().wire, "RepoNotFound");
}

TEST_F(RepoStoreTest, CommitSlicesInvertToPrevData) {
  MakeRepo();
  std::mt19937 rng(5);
  std::set<std::string> present;
  for (int round = 0; round < 60; ++round) {
    std::vector<RepoWrite> w;
    std::set<std::string> touched;
    int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      std::string rkey = "p" + std::to_string(rng() % 80);
      if (!touched.insert(rkey).second) continue;
      if (present.contains(rkey)) {
        if (rng() % 2) {
          w.push_back(Delete("app.example.thing", rkey));
          present.erase(rkey);
        } else {
          w.push_back(Update("app.example.thing", rkey, R"({"u":)" + std::to_string(round) + "}"));
        }
      } else {
        w.push_back(Create("app.example.thing", rkey, R"({"c":)" + std::to_string(round) + "}"));
        present.insert(rkey);
      }
    }
    ASSERT_TRUE(Apply(std::move(w)).ok());
  }
  std::optional<std::string> last_rev;
  std::optional<Cid> last_data;
  int commits = 0;
  for (const auto& e : events_.events) {
    atproto::Frame f = Decode(e);
    if (f.header.t != "#commit") continue;
    auto evt = atproto::CommitEvent::FromValue(f.body);
    ASSERT_TRUE(evt.ok()) << evt.error().message;
    EXPECT_EQ(evt->since, last_rev);
    atproto::MemoryBlockStore slice;
    auto roots = atproto::ReadCarIntoStore(evt->blocks, &slice);
    ASSERT_TRUE(roots.ok());
    EXPECT_EQ(roots->at(0), evt->commit);
    auto commit = atproto::Commit::Decode(*slice.Get(evt->commit));
    ASSERT_TRUE(commit.ok());
    EXPECT_TRUE(atproto::VerifyCommit(*commit, key_.public_key()).ok());
    EXPECT_EQ(commit->rev, evt->rev);
    for (const auto& op : evt->ops) {
      if (op.cid) {
        EXPECT_TRUE(slice.Has(*op.cid)) << op.path;
      }
      if (op.action != atproto::RecordOp::Action::kCreate) {
        EXPECT_TRUE(op.prev.has_value());
      }
    }
    if (last_data) {
      ASSERT_TRUE(evt->prev_data.has_value());
      EXPECT_EQ(*evt->prev_data, *last_data);
      auto back = atproto::InvertOps(slice, commit->data, evt->ops);
      ASSERT_TRUE(back.ok()) << back.error().message;
      EXPECT_EQ(*back, *evt->prev_data);
    }
    last_rev = evt->rev;
    last_data = commit->data;
    ++commits;
  }
  EXPECT_EQ(commits, 61);
}

TEST_F(RepoStoreTest, RecordProofsProveInclusionAndAbsence) {
  MakeRepo();
  std::vector<RepoWrite> w;
  for (int i = 0; i < 50; ++i) w.push_back(Create("app.example.thing", "k" + std::to_string(i), "{}"));
  ASSERT_TRUE(Apply(std::move(w)).ok());
  auto root = store_->GetRoot(kDid);
  for (const std::string rkey : {"k7", "k42", "absent", "zzz"}) {
    auto car = store_->GetRecordProof(kDid, "app.example.thing", rkey);
    ASSERT_TRUE(car.ok()) << car.error().message;
    atproto::MemoryBlockStore blocks;
    auto roots = atproto::ReadCarIntoStore(*car, &blocks);
    ASSERT_TRUE(roots.ok());
    EXPECT_EQ(roots->at(0), root->cid);
    auto commit = atproto::Commit::Decode(*blocks.Get(root->cid));
    ASSERT_TRUE(commit.ok());
    auto path = atproto::MstProofPath(blocks, commit->data, "app.example.thing/" + rkey);
    ASSERT_TRUE(path.ok()) << rkey << ": " << path.error().message;
    bool present = rkey.starts_with("k");
    EXPECT_EQ(path->value.has_value(), present) << rkey;
    if (present) {
      EXPECT_TRUE(blocks.Has(*path->value));
      EXPECT_EQ(*path->value, store_->GetRecord(kDid, "app.example.thing", rkey)->cid);
    }
  }
  EXPECT_EQ(store_->GetRecordProof(kOther, "app.example.thing", "k1").error().wire,
            "RepoNotFound");
}

Result<BlobRef> Upload(RepoStore& store, std::string_view did, std::string_view data,
                       std::string_view mime) {
  ATCR_ASSIGN_OR_RETURN(auto up, store.StartBlobUpload(did));
  // Several writes, as the route streams them.
  for (size_t i = 0; i < data.size(); i += 3) {
    ATCR_TRY(up->Write(AsBytes(data.substr(i, 3))));
  }
  return up->Finish(mime);
}

std::string BlobJson(const BlobRef& b, std::string mime = {}, int64_t size = -1) {
  return R"({"$type":"blob","ref":{"$link":")" + b.cid.ToString() + R"("},"mimeType":")" +
         (mime.empty() ? b.mime_type : mime) + R"(","size":)" +
         std::to_string(size < 0 ? static_cast<int64_t>(b.size) : size) + "}";
}

TEST_F(RepoStoreTest, BlobsAreTemporaryUntilReferencedAndGoWithTheLastRecord) {
  MakeRepo();
  auto blob = Upload(*store_, kDid, "hello blob", "text/plain; charset=utf-8");
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  EXPECT_EQ(blob->cid.ToString(), "bafkreihjs6x5dds7npqaj7azhlwszebjdzukwldvtgtckogjgw37zjvlb4");
  EXPECT_EQ(blob->size, 10u);
  EXPECT_EQ(blob->mime_type, "text/plain");
  EXPECT_EQ(store_->OpenBlob(kDid, blob->cid).error().message, "Blob not found");  // temporary

  auto bad_mime = Apply({Create("app.example.thing", "m",
                                R"({"b":)" + BlobJson(*blob, "image/png") + "}")});
  ASSERT_FALSE(bad_mime.ok());
  EXPECT_EQ(bad_mime.error().wire, "InvalidMimeType");
  auto bad_size = Apply({Create("app.example.thing", "s",
                                R"({"b":)" + BlobJson(*blob, "", 11) + "}")});
  EXPECT_EQ(bad_size.error().wire, "InvalidSize");
  BlobRef unknown = *blob;
  unknown.cid = Cid::ForRaw(AsBytes(std::string_view("other")));
  auto not_found = Apply({Create("app.example.thing", "u", R"({"b":)" + BlobJson(unknown) + "}")});
  ASSERT_FALSE(not_found.ok());
  EXPECT_EQ(not_found.error().wire, "BlobNotFound");
  EXPECT_EQ(not_found.error().message, "Could not find blob: " + unknown.cid.ToString());
  // Another DID's upload does not count.
  MakeRepo(kOther);
  auto other = store_->ApplyWrites(kOther, key_, {Create("app.example.thing", "x",
                                                          R"({"b":)" + BlobJson(*blob) + "}")},
                                   std::nullopt);
  EXPECT_EQ(other.error().wire, "BlobNotFound");

  ASSERT_TRUE(Apply({Create("app.example.thing", "a", R"({"b":)" + BlobJson(*blob) + "}"),
                     Create("app.example.thing", "b", R"({"c":[)" + BlobJson(*blob) + "]}")})
                  .ok());
  auto open = store_->OpenBlob(kDid, blob->cid);
  ASSERT_TRUE(open.ok()) << open.error().message;
  EXPECT_EQ(open->ref.mime_type, "text/plain");
  EXPECT_EQ(open->ref.size, 10u);
  char buf[32] = {};
  EXPECT_EQ(pread(open->read.fd, buf, sizeof buf, 0), 10);
  close(open->read.fd);
  EXPECT_EQ(std::string(buf), "hello blob");
  EXPECT_EQ(*store_->ListBlobs(kDid, std::nullopt, std::nullopt, 100),
            std::vector<std::string>{blob->cid.ToString()});
  EXPECT_TRUE(store_->ListBlobs(kDid, std::nullopt, blob->cid.ToString(), 100)->empty());
  std::string rev_now = store_->GetRoot(kDid)->rev;
  EXPECT_TRUE(store_->ListBlobs(kDid, rev_now, std::nullopt, 100)->empty());

  // Deleting one referencing record keeps it; deleting the last removes it, bytes included.
  ASSERT_TRUE(Apply({Delete("app.example.thing", "a")}).ok());
  EXPECT_TRUE(store_->OpenBlob(kDid, blob->cid).ok());
  ASSERT_TRUE(Apply({Update("app.example.thing", "b", R"({"c":[]})")}).ok());
  EXPECT_FALSE(store_->OpenBlob(kDid, blob->cid).ok());
  EXPECT_TRUE(store_->ListBlobs(kDid, std::nullopt, std::nullopt, 100)->empty());
  auto stat = store_->options().blob_store;  // default store: check through a re-upload
  auto again = Upload(*store_, kDid, "hello blob", "text/plain");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(store_->OpenBlob(kDid, again->cid).ok());  // temporary again
}

TEST_F(RepoStoreTest, BlobUploadsAreBoundedSniffedAndSwept) {
  RepoStoreOptions opts;
  opts.max_blob_bytes = 16;
  Reopen(opts);
  MakeRepo();
  auto up = store_->StartBlobUpload(kDid);
  ASSERT_TRUE(up.ok());
  EXPECT_TRUE((*up)->Write(AsBytes(std::string_view("0123456789"))).ok());
  auto over = (*up)->Write(AsBytes(std::string_view("0123456789")));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(over.error().wire, "PayloadTooLarge");
  up->reset();
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  auto sniffed = Upload(*store_, kDid, png, "text/plain");
  ASSERT_TRUE(sniffed.ok());
  EXPECT_EQ(sniffed->mime_type, "image/png");
  auto empty = Upload(*store_, kDid, "", "application/octet-stream");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size, 0u);
  auto kept = Upload(*store_, kDid, "keep", "text/plain");
  ASSERT_TRUE(Apply({Create("app.example.thing", "k", R"({"b":)" + BlobJson(*kept) + "}")}).ok());
  auto swept = store_->SweepTemporaryBlobs(std::chrono::seconds(-10));
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 2u);  // the png and the empty blob; the referenced one stays
  EXPECT_TRUE(store_->OpenBlob(kDid, kept->cid).ok());
  auto late = Apply({Create("app.example.thing", "p", R"({"b":)" + BlobJson(*sniffed) + "}")});
  EXPECT_EQ(late.error().wire, "BlobNotFound");
}

TEST_F(RepoStoreTest, StateSurvivesReopenAndDeleteRepoRemovesEverything) {
  MakeRepo();
  MakeRepo(kOther);
  auto blob = Upload(*store_, kDid, "shared bytes", "text/plain");
  auto blob2 = Upload(*store_, kOther, "shared bytes", "text/plain");
  ASSERT_TRUE(blob.ok() && blob2.ok());
  ASSERT_TRUE(Apply({Create("app.example.thing", "a", R"({"b":)" + BlobJson(*blob) + "}")}).ok());
  ASSERT_TRUE(store_->ApplyWrites(kOther, key_,
                                  {Create("app.example.thing", "a",
                                          R"({"b":)" + BlobJson(*blob2) + "}")},
                                  std::nullopt)
                  .ok());
  int64_t seq = store_->LastSeq();
  CommitInfo root = *store_->GetRoot(kDid);
  Reopen();
  EXPECT_EQ(store_->LastSeq(), seq);
  EXPECT_EQ(store_->GetRoot(kDid)->cid, root.cid);
  auto next = Apply({Create("app.example.thing", "b", "{}")});
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_GT(next->commit->rev, root.rev);
  EXPECT_EQ(events_.events.back().seq, seq + 1);
  auto repos = store_->ListRepos(10, std::nullopt);
  ASSERT_TRUE(repos.ok());
  ASSERT_EQ(repos->size(), 2u);
  auto after_first = store_->ListRepos(10, std::make_pair((*repos)[0].created_unix_ms,
                                                          (*repos)[0].did));
  ASSERT_EQ(after_first->size(), 1u);
  EXPECT_EQ((*after_first)[0].did, (*repos)[1].did);

  ASSERT_TRUE(store_->DeleteRepo(kDid).ok());
  EXPECT_FALSE(store_->HasRepo(kDid));
  EXPECT_EQ(events_.deleted, std::vector<std::string>{kDid});
  EXPECT_FALSE(store_->GetRecord(kDid, "app.example.thing", "a").ok());
  auto left = store_->ReadEvents(0, 1000);
  ASSERT_TRUE(left.ok());
  for (const auto& e : *left) EXPECT_NE(e.did, kDid);
  // The other repo still has the same bytes.
  EXPECT_TRUE(store_->OpenBlob(kOther, blob2->cid).ok());
  ASSERT_TRUE(store_->AppendAccountEvent(kDid, false, "deleted").ok());
  EXPECT_EQ(store_->LastSeq(), seq + 2);  // seq never goes back
  // The DID can come back with a fresh repo.
  EXPECT_TRUE(store_->CreateRepo(kDid, key_).ok());
  ASSERT_TRUE(store_->DeleteRepo(kOther).ok());
  EXPECT_FALSE(store_->OpenBlob(kOther, blob2->cid).ok());
}

TEST_F(RepoStoreTest, ReadEventsAndTimeQueries) {
  MakeRepo();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Apply({Create("app.example.thing", "", "{}")}).ok());
  auto all = store_->ReadEvents(0, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 7u);
  for (size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(*(*all)[i].frame, *events_.events[i].frame);
  }
  EXPECT_EQ(store_->ReadEvents(5, 100)->size(), 2u);
  EXPECT_EQ(store_->ReadEvents(3, 1)->at(0).seq, 4);
  auto next = store_->NextEventAfter(3);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->first, 4);
  EXPECT_FALSE(store_->NextEventAfter(7)->has_value());
  EXPECT_EQ(*store_->FirstEventSince(0), std::optional<int64_t>(1));
  EXPECT_FALSE(store_->FirstEventSince(UnixMicros() + 10'000'000)->has_value());
  auto pruned = store_->PruneEvents((*all)[3].time_us);
  ASSERT_TRUE(pruned.ok());
  EXPECT_GE(*pruned, 1u);
  EXPECT_EQ(store_->LastSeq(), 7);
}

TEST_F(RepoStoreTest, ConcurrentWritersKeepEveryRepoConsistent) {
  const std::vector<std::string> dids = {kDid, kOther, "did:plc:cccccccccccccccccccccccc"};
  for (const auto& d : dids) MakeRepo(d);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      const std::string& did = dids[t % dids.size()];
      for (int i = 0; i < 25; ++i) {
        auto r = store_->ApplyWrites(
            did, key_, {Create("app.example.thing", "t" + std::to_string(t) + "-" + std::to_string(i), "{}")},
            std::nullopt);
        if (!r.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // Events arrived in seq order without gaps, and each repo's commits chain.
  std::map<std::string, std::string> last_rev;
  for (size_t i = 0; i < events_.events.size(); ++i) {
    EXPECT_EQ(events_.events[i].seq, static_cast<int64_t>(i + 1));
    atproto::Frame f = Decode(events_.events[i]);
    if (f.header.t != "#commit") continue;
    auto evt = atproto::CommitEvent::FromValue(f.body);
    ASSERT_TRUE(evt.ok());
    if (evt->since) {
      EXPECT_EQ(*evt->since, last_rev[evt->repo]);
    }
    last_rev[evt->repo] = evt->rev;
  }
  for (const auto& d : dids) {
    testing::LoadedRepo repo = LoadRepo(d);
    EXPECT_EQ(repo.tree.size(), 50u) << d;
  }
}

// A writer process is killed with SIGKILL in the middle of a burst; after reopening, every
// acknowledged record is there and the repo verifies (signature, MST over the stored blocks).
TEST_F(RepoStoreTest, KillNineDuringWritesLosesNothingAcknowledged) {
  MakeRepo();
  store_.reset();
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  std::string key_hex;
  for (uint8_t b : key_.secret_bytes()) {
    char h[3];
    snprintf(h, sizeof h, "%02x", b);
    key_hex += h;
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipefd[0]);
    RepoStoreOptions opts;
    opts.data_dir = dir_.path();
    auto store = RepoStore::Open(opts);
    if (!store.ok()) _exit(2);
    auto key = crypto::PrivateKey::FromHex(crypto::KeyType::kK256, key_hex);
    for (int i = 0;; ++i) {
      std::string rkey = "w" + std::to_string(i);
      std::vector<RepoWrite> w = {Create("app.example.thing", rkey, R"({"i":)" + std::to_string(i) + "}")};
      if (i % 7 == 3) w.push_back(Delete("app.example.thing", "w" + std::to_string(i - 3)));
      auto r = (*store)->ApplyWrites(kDid, *key, std::move(w), std::nullopt);
      if (!r.ok()) _exit(3);
      std::string line = rkey + "\n";
      if (write(pipefd[1], line.data(), line.size()) < 0) _exit(4);
    }
  }
  close(pipefd[1]);
  std::set<std::string> acked;
  std::string buf;
  char chunk[256];
  while (acked.size() < 150) {
    ssize_t n = read(pipefd[0], chunk, sizeof chunk);
    ASSERT_GT(n, 0) << "writer died early";
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      acked.insert(buf.substr(0, nl));
      buf.erase(0, nl + 1);
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(pipefd[0]);

  Reopen();
  testing::LoadedRepo repo = LoadRepo();
  EXPECT_EQ(repo.commit.data, store_->GetRoot(kDid)->data);
  size_t checked = 0;
  for (const std::string& rkey : acked) {
    int i = std::stoi(rkey.substr(1));
    // w(i+3) deletes w(i) in the same commit (which may have landed without its ack): both
    // or neither of that commit's effects are visible.
    bool deleted_later = (i + 3) % 7 == 3 &&
                         repo.tree.Contains("app.example.thing/w" + std::to_string(i + 3));
    bool present = repo.tree.Contains("app.example.thing/" + rkey);
    EXPECT_NE(present, deleted_later) << rkey;
    if (!deleted_later) {
      EXPECT_TRUE(present) << rkey;
      EXPECT_TRUE(store_->GetRecord(kDid, "app.example.thing", rkey).ok()) << rkey;
      ++checked;
    }
  }
  EXPECT_GT(checked, 100u);
  // The store keeps working, and the firehose history ends at the current root.
  auto more = Apply({Create("app.example.thing", "after", "{}")});
  ASSERT_TRUE(more.ok()) << more.error().message;
  auto evts = store_->ReadEvents(store_->LastSeq() - 1, 10);
  ASSERT_TRUE(evts.ok());
  ASSERT_EQ(evts->size(), 1u);
  auto f = atproto::DecodeFrame(*evts->at(0).frame);
  auto evt = atproto::CommitEvent::FromValue(f->body);
  EXPECT_EQ(evt->commit, more->commit->cid);
  EXPECT_EQ(*evt->prev_data, repo.commit.data);
}

}  // namespace
}  // namespace atcr::pds
