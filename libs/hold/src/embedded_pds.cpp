#include "atcr/hold/embedded_pds.h"

#include <boost/json.hpp>

#include "atcr/cbor/codec.h"
#include "atcr/cbor/json.h"
#include "atcr/net/router.h"
#include "atcr/net/xrpc.h"
#include "atcr/pds/account_repo_host.h"
#include "atcr/pds/account_service.h"
#include "atcr/pds/firehose.h"
#include "atcr/pds/repo_routes.h"
#include "atcr/pds/repo_store.h"
#include "internal/files.h"

namespace atcr::hold {
namespace json = boost::json;
namespace {

Result<StoredRecord> ToStored(std::string_view did, std::string_view collection,
                             std::string_view rkey, const cbor::Cid& cid, const Bytes& bytes) {
  auto value = cbor::Decode(bytes);
  if (!value.ok()) return Error(ErrorCode::kDataLoss, "record is not DAG-CBOR: " + value.error().message);
  json::value v = cbor::ToJson(*value);
  if (!v.is_object()) return Error(ErrorCode::kDataLoss, "record is not a map");
  StoredRecord r;
  r.collection = std::string(collection);
  r.rkey = std::string(rkey);
  r.uri = RecordUri(did, collection, rkey);
  r.cid = cid.ToString();
  r.value = std::move(v.as_object());
  return r;
}

class PdsRecordStore final : public RecordStore {
 public:
  PdsRecordStore(pds::RepoStore& store, std::string did, crypto::PrivateKey key)
      : store_(store), did_(std::move(did)), key_(std::move(key)) {}

  const std::string& did() const override { return did_; }

  Result<std::optional<StoredRecord>> Get(std::string_view collection,
                                          std::string_view rkey) override {
    auto rec = store_.GetRecord(did_, collection, rkey);
    if (!rec.ok()) {
      if (rec.error().code == ErrorCode::kNotFound) return std::optional<StoredRecord>();
      return std::move(rec).error();
    }
    ATCR_ASSIGN_OR_RETURN(StoredRecord r, ToStored(did_, collection, rkey, rec->cid, rec->cbor));
    return std::optional<StoredRecord>(std::move(r));
  }

  Result<std::vector<StoredRecord>> List(std::string_view collection, size_t limit,
                                         std::string_view after, bool reverse) override {
    std::optional<std::string> cursor;
    if (!after.empty()) cursor = std::string(after);
    // The PDS lists descending by default and ascending with reverse; this seam the other way.
    ATCR_ASSIGN_OR_RETURN(auto page,
                          store_.ListRecords(did_, collection, std::min<size_t>(limit, 100),
                                             std::move(cursor), !reverse));
    std::vector<StoredRecord> out;
    out.reserve(page.size());
    for (const pds::ListedRecord& l : page) {
      ATCR_ASSIGN_OR_RETURN(StoredRecord r, ToStored(did_, l.collection, l.rkey, l.cid, l.cbor));
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<std::vector<std::string>> Collections() override { return store_.ListCollections(did_); }

  Result<std::vector<WriteOutcome>> Apply(const std::vector<RecordWrite>& writes) override {
    std::vector<pds::RepoWrite> out;
    out.reserve(writes.size());
    for (const RecordWrite& w : writes) {
      pds::RepoWrite p;
      p.collection = w.collection;
      p.rkey = w.rkey;
      switch (w.action) {
        case RecordWrite::Action::kCreate:
          p.action = pds::RepoWrite::Action::kCreate;
          break;
        case RecordWrite::Action::kPut:
          p.action = pds::RepoWrite::Action::kPut;
          break;
        case RecordWrite::Action::kDelete:
          p.action = pds::RepoWrite::Action::kDelete;
          p.ignore_missing = true;
          break;
      }
      if (w.action != RecordWrite::Action::kDelete) {
        ATCR_ASSIGN_OR_RETURN(p.record, cbor::FromJson(json::value(w.value)));
      }
      out.push_back(std::move(p));
    }
    ATCR_ASSIGN_OR_RETURN(pds::WriteResult result,
                          store_.ApplyWrites(did_, key_, std::move(out), std::nullopt));
    std::vector<WriteOutcome> outcomes;
    outcomes.reserve(result.results.size());
    for (const auto& item : result.results) {
      outcomes.push_back(WriteOutcome{item.uri, item.cid.empty() ? std::string() : item.cid.ToString()});
    }
    return outcomes;
  }

 private:
  pds::RepoStore& store_;
  std::string did_;
  crypto::PrivateKey key_;
};

}  // namespace

std::shared_ptr<RecordStore> NewPdsRecordStore(pds::RepoStore& store, std::string did,
                                               crypto::PrivateKey key) {
  return std::make_shared<PdsRecordStore>(store, std::move(did), std::move(key));
}

struct EmbeddedPds::Impl {
  EmbeddedPdsOptions options;
  std::unique_ptr<pds::RepoStore> repos;
  std::unique_ptr<pds::Firehose> firehose;
  std::unique_ptr<pds::RepoStoreHost> host;
  std::unique_ptr<pds::AccountService> accounts;
  std::shared_ptr<RecordStore> records;
  net::Router router;
};

EmbeddedPds::EmbeddedPds(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EmbeddedPds::~EmbeddedPds() {
  if (impl_ && impl_->firehose) impl_->firehose->Stop();
}

Result<std::unique_ptr<EmbeddedPds>> EmbeddedPds::Open(EmbeddedPdsOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const HoldIdentity& id = impl->options.identity;
  ATCR_TRY(internal::EnsureDir(impl->options.data_dir, 0700));

  pds::RepoStoreOptions repo_options;
  repo_options.data_dir = impl->options.data_dir;
  repo_options.durable = impl->options.durable;
  ATCR_ASSIGN_OR_RETURN(impl->repos, pds::RepoStore::Open(repo_options));
  impl->firehose = std::make_unique<pds::Firehose>(*impl->repos);
  impl->host = std::make_unique<pds::RepoStoreHost>(*impl->repos);

  pds::AccountServiceOptions account_options;
  account_options.data_dir = impl->options.data_dir;
  account_options.service_did = id.did;
  account_options.public_url = id.public_url;
  account_options.single_account = true;
  account_options.version = "atcr-hold/0.1";
  ATCR_ASSIGN_OR_RETURN(impl->accounts,
                        pds::AccountService::Open(account_options, impl->host.get(), nullptr));
  std::vector<pds::DidService> services = {{"atcr_hold", "AtcrHoldService", id.public_url}};
  ATCR_TRY(impl->accounts->EnsureServiceAccount(id.did, id.handle, id.signing_key, services));
  impl->records = NewPdsRecordStore(*impl->repos, id.did, id.signing_key);

  impl->accounts->RegisterRoutes(impl->router);
  pds::RepoRoutesOptions routes;
  routes.writes = false;  // the hold writes its records itself
  pds::AccountService* accounts = impl->accounts.get();
  routes.did_document = [accounts](std::string) -> net::Task<Result<std::string>> {
    co_return accounts->ServiceDidDocument();
  };
  pds::RegisterRepoRoutes(impl->router, *impl->repos, *impl->firehose, *impl->accounts,
                          *impl->accounts, routes);
  net::AddXrpcNotFoundFallback(impl->router);
  return std::unique_ptr<EmbeddedPds>(new EmbeddedPds(std::move(impl)));
}

std::shared_ptr<RecordStore> EmbeddedPds::records() { return impl_->records; }
pds::RepoStore& EmbeddedPds::repo() { return *impl_->repos; }
pds::Firehose& EmbeddedPds::firehose() { return *impl_->firehose; }
void EmbeddedPds::Stop() { impl_->firehose->Stop(); }

net::Task<net::Response> EmbeddedPds::Handle(net::Request& req) {
  net::Router::Match m = impl_->router.Find(req.method, req.path);
  if (m.handler == nullptr) {
    if (m.method_not_allowed) {
      co_return net::XrpcErrorResponse(405, "InvalidRequest", "method not allowed");
    }
    co_return net::XrpcErrorResponse(404, "NotFound", "not found");
  }
  if (m.options != nullptr) {
    req.body->set_limit(m.options->max_body);
    if (!m.options->name.empty()) req.route = m.options->name;
  }
  co_return co_await (*m.handler)(req);
}

net::Handler EmbeddedPds::handler() {
  return [this](net::Request& req) { return Handle(req); };
}

}  // namespace atcr::hold
