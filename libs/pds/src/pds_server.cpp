#include "atcr/pds/pds_server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <thread>
#include <vector>

#include "atcr/identity/resolver.h"
#include "atcr/net/http_client.h"
#include "atcr/net/router.h"
#include "atcr/net/server.h"
#include "atcr/net/xrpc.h"
#include "atcr/pds/account_repo_host.h"
#include "atcr/pds/account_service.h"
#include "atcr/pds/firehose.h"
#include "atcr/pds/repo_routes.h"
#include "atcr/pds/repo_store.h"

namespace atcr::pds {
namespace {

Result<std::pair<std::string, uint16_t>> SplitAddr(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("addr must be HOST:PORT, got " + addr);
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "127.0.0.1";
  std::string port_text = addr.substr(colon + 1);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535) {
    return InvalidArgument("addr has a bad port: " + addr);
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

std::string HostOfUrl(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  auto end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

struct PdsServer::Impl {
  PdsConfig config;
  std::string public_url;
  std::string service_did;
  int lock_fd = -1;
  std::unique_ptr<net::HttpClient> http;
  std::unique_ptr<identity::Resolver> resolver;
  std::unique_ptr<RepoStore> repos;
  std::unique_ptr<Firehose> firehose;
  std::unique_ptr<RepoStoreHost> host;
  std::unique_ptr<AccountService> accounts;
  std::unique_ptr<net::Server> server;
  std::thread crawl_thread;
  bool stopped = false;

  ~Impl() {
    if (lock_fd >= 0) ::close(lock_fd);
  }

  void RequestCrawl() {
    std::string hostname = HostOfUrl(public_url);
    for (const auto& crawler : config.crawlers) {
      net::ClientRequest req;
      req.method = net::Method::kPost;
      req.url = crawler + "/xrpc/com.atproto.sync.requestCrawl";
      req.headers.Set("Content-Type", "application/json");
      req.body = "{\"hostname\":\"" + hostname + "\"}";
      req.timeout = std::chrono::milliseconds(10000);
      auto r = http->SendSync(std::move(req));
      if (!r.ok()) {
        spdlog::warn("pds: requestCrawl to {} failed: {}", crawler, r.error().message);
      } else if (r->status != 200) {
        spdlog::warn("pds: requestCrawl to {}: HTTP {}", crawler, r->status);
      } else {
        spdlog::info("pds: asked {} to crawl {}", crawler, hostname);
      }
    }
  }
};

PdsServer::PdsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PdsServer::~PdsServer() { Stop(); }

Result<std::unique_ptr<PdsServer>> PdsServer::Open(const PdsConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  ATCR_ASSIGN_OR_RETURN(auto hostport, SplitAddr(config.addr));
  impl->public_url = config.public_url.empty()
                         ? "http://" + hostport.first + ":" + std::to_string(hostport.second)
                         : config.public_url;
  while (!impl->public_url.empty() && impl->public_url.back() == '/') impl->public_url.pop_back();
  if (config.service_did.empty()) {
    ATCR_ASSIGN_OR_RETURN(impl->service_did, identity::DidWebFromUrl(impl->public_url));
  } else {
    impl->service_did = config.service_did;
  }

  std::error_code ec;
  std::filesystem::create_directories(config.data, ec);
  if (ec) return Internal("data directory " + config.data + ": " + ec.message());
  ::chmod(config.data.c_str(), 0700);
  // One process per data directory: the repo store keeps per-DID trees and the event sequence
  // in memory, which a second writer would silently fork. The lock dies with the process.
  impl->lock_fd = ::open((config.data + "/.atcr-pds.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC,
                         0600);
  if (impl->lock_fd < 0 || ::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return Error(ErrorCode::kFailedPrecondition,
                 "data directory " + config.data + " is in use by another atcr pds process");
  }

  impl->http = std::make_unique<net::HttpClient>();
  identity::ResolverOptions ropts;
  ropts.plc_url = config.plc_url;
  impl->resolver = std::make_unique<identity::Resolver>(ropts);

  RepoStoreOptions repo_options;
  repo_options.data_dir = config.data;
  repo_options.max_blob_bytes = config.blob_max_bytes;
  ATCR_ASSIGN_OR_RETURN(impl->repos, RepoStore::Open(repo_options));
  impl->firehose = std::make_unique<Firehose>(*impl->repos);
  impl->host = std::make_unique<RepoStoreHost>(*impl->repos);

  AccountServiceOptions aopts;
  aopts.data_dir = config.data;
  aopts.service_did = impl->service_did;
  aopts.public_url = impl->public_url;
  aopts.handle_domains = config.handle_domains;
  aopts.plc_url = config.plc_url;
  aopts.invite_required = config.invite_required;
  aopts.admin_password = config.admin_password;
  aopts.resolver = impl->resolver.get();
  ATCR_ASSIGN_OR_RETURN(impl->accounts,
                        AccountService::Open(aopts, impl->host.get(), impl->http.get()));

  net::Router router;
  impl->accounts->RegisterRoutes(router);
  RepoRoutesOptions routes;
  routes.max_json_bytes = 150 * 1024;
  // describeRepo shows the account's DID document as the PLC directory has it, so that
  // handleIsCorrect says whether the handle there is the one this PDS holds.
  routes.did_document = [http = impl->http.get(),
                         plc = config.plc_url](std::string did) -> net::Task<Result<std::string>> {
    if (!did.starts_with("did:plc:")) co_return Error(ErrorCode::kNotFound, "not a did:plc");
    std::string base = plc;
    while (base.ends_with('/')) base.pop_back();
    net::ClientRequest creq;
    creq.url = base + "/" + did;
    creq.timeout = std::chrono::milliseconds(5000);
    auto resp = co_await http->Send(std::move(creq));
    if (!resp.ok()) co_return resp.error();
    if (resp->status != 200) {
      co_return Error(ErrorCode::kNotFound,
                      "PLC directory answered " + std::to_string(resp->status) + " for " + did);
    }
    co_return std::move(resp->body);
  };
  RegisterRepoRoutes(router, *impl->repos, *impl->firehose, *impl->accounts, *impl->accounts,
                     routes);
  net::AddXrpcNotFoundFallback(router);

  net::ServerOptions sopts;
  sopts.address = hostport.first;
  sopts.port = hostport.second;
  sopts.threads = config.threads;
  impl->server = std::make_unique<net::Server>(sopts, std::move(router));
  return std::unique_ptr<PdsServer>(new PdsServer(std::move(impl)));
}

Status PdsServer::Start() {
  ATCR_TRY(impl_->server->Start());
  spdlog::info("pds: {} ({}) listening on port {}, data in {}, PLC {}", impl_->public_url,
               impl_->service_did, impl_->server->port(), impl_->config.data,
               impl_->config.plc_url);
  if (!impl_->config.crawlers.empty()) {
    impl_->crawl_thread = std::thread([impl = impl_.get()] { impl->RequestCrawl(); });
  }
  return Ok();
}

void PdsServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->firehose->Stop();
  impl_->server->Stop();
  if (impl_->crawl_thread.joinable()) impl_->crawl_thread.join();
}

Status PdsServer::RunUntilSignal() {
  // RunUntilSignal starts the server itself; log like Start() does.
  spdlog::info("pds: {} ({}), data in {}, PLC {}", impl_->public_url, impl_->service_did,
               impl_->config.data, impl_->config.plc_url);
  if (!impl_->config.crawlers.empty()) {
    impl_->crawl_thread = std::thread([impl = impl_.get()] { impl->RequestCrawl(); });
  }
  Status st = impl_->server->RunUntilSignal();
  Stop();
  return st;
}

uint16_t PdsServer::port() const { return impl_->server->port(); }
const std::string& PdsServer::public_url() const { return impl_->public_url; }
const std::string& PdsServer::service_did() const { return impl_->service_did; }
AccountService& PdsServer::accounts() { return *impl_->accounts; }
RepoStore& PdsServer::repos() { return *impl_->repos; }

}  // namespace atcr::pds
