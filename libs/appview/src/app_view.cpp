#include "atcr/appview/app_view.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>

#include "atcr/atproto/syntax.h"
#include "atcr/oci/name.h"
#include "atcr/registry/upload_sweeper.h"
#include "internal/files.h"
#include "internal/schema.h"

namespace atcr::appview {

namespace {

// OCI names, plus a DID as the first component ("did:plc:abc/app"); the repository part
// after the identity follows the OCI grammar either way.
Status ValidateAppViewName(std::string_view name) {
  if (!name.starts_with("did:")) return oci::ValidateRepositoryName(name);
  size_t slash = name.find('/');
  if (slash == std::string_view::npos) {
    return InvalidArgument("a repository name needs <DID>/<repository>", "NAME_INVALID");
  }
  Status did = atproto::ValidateDid(name.substr(0, slash));
  if (!did.ok()) return InvalidArgument(did.error().message, "NAME_INVALID");
  return oci::ValidateRepositoryName(name.substr(slash + 1));
}

}  // namespace

struct AppView::Background {
  std::unique_ptr<registry::UploadSweeper> sweeper;
};

Result<std::unique_ptr<AppView>> AppView::Open(AppViewConfig config, AppViewOptions options) {
  ATCR_TRY(ValidateAppViewConfig(config));
  ATCR_TRY(internal::MakeDirs(config.data));
  ATCR_TRY(internal::MakeDirs(config.data + "/uploads"));
  std::unique_ptr<AppView> av(new AppView());
  av->config_ = config;

  ATCR_ASSIGN_OR_RETURN(auto db, internal::OpenAppViewDatabase(config.data + "/appview.sqlite"));
  ATCR_ASSIGN_OR_RETURN(SecretBox box, SecretBox::LoadOrCreate(config.data + "/secret.key"));
  ATCR_ASSIGN_OR_RETURN(crypto::PrivateKey key, RegistryTokenSigner::LoadOrCreateKey(
                                                    config.data + "/registry-token.key"));

  auto s = std::make_shared<AppViewServices>();
  s->default_hold_did = config.default_hold_did;
  s->upload_part_bytes = config.upload_part_bytes;
  s->hold_part_bytes = config.hold_part_bytes;
  s->uploads_dir = config.data + "/uploads";
  s->notify_pulls = config.notify_pulls;
  if (options.http) {
    s->http = options.http;
  } else {
    net::HttpClientOptions http_options;
    http_options.tls_ca_file = config.tls_ca_file;
    s->http = std::make_shared<net::HttpClient>(http_options);
  }
  if (options.resolver) {
    s->resolver = options.resolver;
  } else {
    identity::ResolverOptions ro;
    ro.plc_url = config.plc_url;
    ro.cache_ttl = std::chrono::seconds(config.identity_cache_seconds);
    ro.use_dns = config.identity_use_dns;
    ro.handle_overrides = config.handle_overrides;
    s->resolver = std::make_shared<identity::Resolver>(ro);
  }
  s->names = std::make_shared<NameResolver>(
      s->resolver, std::chrono::seconds(std::min<int64_t>(config.identity_cache_seconds, 300)));
  s->pds = std::make_shared<PdsClient>(s->http);
  auto store = std::make_shared<SessionStore>(db, box);
  s->sessions = std::make_shared<SessionManager>(s->pds, store);
  s->service_tokens = std::make_shared<ServiceTokenCache>(s->sessions, s->pds);
  s->holds = std::make_shared<HoldClient>(s->http, s->resolver);
  if (!config.default_hold_url.empty()) {
    s->holds->SetEndpoint(config.default_hold_did, config.default_hold_url);
  }
  s->cache = std::make_shared<ManifestCache>(config.cache_max_bytes);
  s->index = std::make_shared<AppViewIndex>(db);
  auto lexicons = std::make_shared<atproto::LexiconCatalog>();
  ATCR_TRY(lexicons->AddBuiltinAtcr());
  s->lexicons = lexicons;
  s->profiles = std::make_shared<Profiles>(s.get());
  av->services_ = s;

  av->manifests_ = std::make_shared<PdsManifestStore>(s);
  av->blobs_ = std::make_shared<HoldBlobStore>(s);
  av->uploads_ = HoldUploadStore::Create(s);
  av->signer_ = std::make_shared<RegistryTokenSigner>(std::move(key), config.EffectiveServiceName(),
                                                      config.EffectiveServiceName());

  if (config.firehose_enabled && options.background) {
    std::weak_ptr<PdsManifestStore> weak_manifests = av->manifests_;
    std::weak_ptr<AppViewServices> weak_services = s;
    FirehoseWatcherOptions fo;
    fo.tls_ca_file = config.tls_ca_file;
    av->firehose_ = std::make_unique<FirehoseWatcher>(
        [weak_manifests](const std::string& did, std::string_view collection,
                         std::string_view rkey, std::string_view) {
          if (auto m = weak_manifests.lock()) m->InvalidateRecord(did, collection, rkey);
        },
        [weak_services](const std::string& did) {
          if (auto sv = weak_services.lock()) {
            sv->names->Invalidate(did);
            sv->cache->InvalidateOwner(did);
          }
        },
        fo);
  }

  TokenServiceOptions to;
  to.realm = config.EffectiveBaseUrl() + "/auth/token";
  to.service = config.EffectiveServiceName();
  to.token_ttl_seconds = config.token_ttl_seconds;
  to.credential_cache_seconds = config.credential_cache_seconds;
  FirehoseWatcher* watcher = av->firehose_.get();
  if (watcher != nullptr) {
    to.on_login = [watcher](const std::string&, const std::string& pds) { watcher->Watch(pds); };
  }
  std::weak_ptr<PdsManifestStore> weak_manifests = av->manifests_;
  av->tokens_ = std::make_shared<TokenService>(
      s, av->signer_, to, [weak_manifests](RepositoryOwner owner) -> Task<Result<std::string>> {
        auto m = weak_manifests.lock();
        if (!m) co_return std::string();
        co_return co_await m->RepositoryHold(std::move(owner));
      });

  registry::DistributionApiOptions api_options;
  api_options.delete_enabled = config.delete_enabled;
  api_options.max_blob_bytes = config.max_blob_bytes;
  api_options.authenticator = av->tokens_;
  api_options.metrics = options.metrics;
  api_options.validate_name = ValidateAppViewName;
  av->api_ = std::make_shared<registry::DistributionApi>(api_options, av->manifests_, av->blobs_,
                                                          av->uploads_);

  av->background_ = std::make_unique<Background>();
  if (options.background) {
    av->background_->sweeper = std::make_unique<registry::UploadSweeper>(
        av->uploads_, config.uploads_stale_after_seconds,
        std::chrono::seconds(std::clamp<int64_t>(config.uploads_stale_after_seconds / 4, 60, 3600)));
    if (watcher != nullptr) {
      // Follow the PDSes of users who logged in before this start.
      auto lock = db->Lock();
      auto rows = db->Prepare("SELECT DISTINCT pds_endpoint FROM session");
      if (rows.ok()) {
        while (true) {
          auto step = rows->Step();
          if (!step.ok() || !*step) break;
          watcher->Watch(rows->Text(0));
        }
      }
    }
  }
  spdlog::info("appview: data in {}, service {}, token realm {}, default hold {}", config.data,
               to.service, to.realm,
               config.default_hold_did.empty() ? "(none)" : config.default_hold_did);
  return av;
}

AppView::~AppView() { Stop(); }

void AppView::Stop() {
  if (firehose_) firehose_->Stop();
  if (background_) background_->sweeper.reset();
}

namespace {

constexpr int kMaxPullNotifications = 32;

// "/v2/<name>/manifests/<ref>" -> name.
std::string ManifestName(std::string_view path) {
  if (!path.starts_with("/v2/")) return {};
  size_t at = path.rfind("/manifests/");
  if (at == std::string_view::npos || at <= 4) return {};
  return std::string(path.substr(4, at - 4));
}

}  // namespace

net::Task<net::Response> AppView::HandleV2(net::Request& req) {
  net::Response resp = co_await api_->Handle(req);
  if (services_->notify_pulls && req.method == net::Method::kGet && resp.status == 200 &&
      req.route == "manifest_get") {
    std::string name = ManifestName(req.path);
    auto digest_header = resp.headers.Get("Docker-Content-Digest");
    if (!name.empty() && digest_header) {
      auto digest = oci::Digest::Parse(*digest_header);
      auto in_flight = pull_notifications_;
      if (digest.ok() && in_flight->fetch_add(1) >= kMaxPullNotifications) {
        in_flight->fetch_sub(1);
        spdlog::debug("appview: too many pull notifications in flight; {} not reported", name);
      } else if (digest.ok()) {
        auto store = manifests_;
        oci::Digest d = *digest;
        auto ex = co_await boost::asio::this_coro::executor;
        boost::asio::co_spawn(
            ex,
            [store, name, d, in_flight]() -> net::Task<void> {
              std::string n = name;
              oci::Digest dd = d;
              Status st = co_await store->NotifyPull(std::move(n), std::move(dd));
              in_flight->fetch_sub(1);
              if (!st.ok()) {
                spdlog::info("appview: notifyManifest(pull) for {}@{} failed: {}", name, d.str(),
                             st.error().message);
              }
            },
            boost::asio::detached);
      }
    }
  }
  co_return resp;
}

void AppView::Register(net::Router& router) {
  tokens_->Register(router);
  net::Handler v2 = [this](net::Request& req) { return HandleV2(req); };
  net::RouteOptions options;
  options.name = "v2";
  options.max_body = 64 * 1024;
  router.AddPrefix("/v2/", v2, options);
  for (net::Method m : {net::Method::kGet, net::Method::kHead}) router.Add(m, "/v2", v2, options);
  std::string base = config_.EffectiveBaseUrl();
  std::string host = config_.EffectiveServiceName();
  net::RouteOptions root_options;
  root_options.name = "root";
  router.Add(
      net::Method::kGet, "/",
      [host](net::Request&) -> net::Task<net::Response> {
        co_return net::Response::Text(
            200, "atcr AppView: an OCI registry whose images live in their owners' ATProto "
                 "repositories.\n\n  docker login " +
                     host + " -u <handle> -p <app password>\n  docker push " + host +
                     "/<handle>/<repository>:<tag>\n");
      },
      root_options);
}

}  // namespace atcr::appview
