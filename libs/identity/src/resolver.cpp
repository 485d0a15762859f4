#include "atcr/identity/resolver.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/detached.hpp>

#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include "atcr/atproto/syntax.h"
#include "atcr/net/http_client.h"
#include "internal/dns_txt.h"

namespace atcr::identity {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxCacheEntries = 100000;

std::string TrimWhitespace(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool IsDevHost(std::string_view host) {
  std::string_view name = host.substr(0, host.find(':'));
  return name == "localhost" || name == "127.0.0.1" || name.ends_with(".test") ||
         name.ends_with(".localhost");
}

}  // namespace

Result<std::string> DidWebDocumentUrl(std::string_view did, bool allow_insecure_dev_hosts) {
  if (!did.starts_with("did:web:")) return InvalidArgument("not a did:web: " + std::string(did));
  ATCR_TRY(atproto::ValidateDid(did));
  std::string_view rest = did.substr(8);
  if (rest.find(':') != std::string_view::npos) {
    return InvalidArgument("did:web with a path is not supported by atproto: " + std::string(did));
  }
  std::string host(rest);
  // A port is percent-encoded ("%3A"); only that escape is meaningful in a hostname.
  if (auto pos = host.find("%3A"); pos != std::string::npos) host.replace(pos, 3, ":");
  if (auto pos = host.find("%3a"); pos != std::string::npos) host.replace(pos, 3, ":");
  if (host.find('%') != std::string::npos) {
    return InvalidArgument("did:web host has an unexpected escape: " + std::string(did));
  }
  bool dev = IsDevHost(host);
  if (host.find(':') != std::string::npos && !(dev && allow_insecure_dev_hosts)) {
    return InvalidArgument("did:web with a port is only allowed for development hosts");
  }
  std::string scheme = (dev && allow_insecure_dev_hosts) ? "http" : "https";
  return scheme + "://" + host + "/.well-known/did.json";
}

Result<std::string> DidWebFromUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return InvalidArgument("public URL must start with http:// or https://");
  }
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return InvalidArgument("public URL for a did:web must be scheme://host[:port] without a path");
  }
  std::string host(rest);
  if (auto pos = host.find(':'); pos != std::string::npos) host.replace(pos, 1, "%3A");
  std::string did = "did:web:" + host;
  ATCR_TRY(atproto::ValidateDid(did));
  return did;
}

struct Resolver::Impl {
  ResolverOptions options;
  net::HttpClient http;

  struct DocEntry {
    Result<DidDocument> value;
    Clock::time_point expires;
  };
  struct HandleEntry {
    Result<std::string> value;
    Clock::time_point expires;
  };
  std::mutex mu;
  std::unordered_map<std::string, DocEntry> docs;
  std::unordered_map<std::string, HandleEntry> handles;

  explicit Impl(ResolverOptions o)
      : options(std::move(o)), http(net::HttpClientOptions{.max_response_bytes = 1024 * 1024}) {}

  Clock::time_point ExpiryFor(bool ok) const {
    return Clock::now() + (ok ? options.cache_ttl : options.negative_ttl);
  }

  template <typename Map>
  void Trim(Map& m) {
    if (m.size() < kMaxCacheEntries) return;
    auto now = Clock::now();
    std::erase_if(m, [&](const auto& kv) { return kv.second.expires <= now; });
    if (m.size() >= kMaxCacheEntries) m.clear();
  }

  net::Task<Result<std::string>> FetchText(std::string url, std::string host_header,
                                           size_t max_bytes) {
    net::ClientRequest req;
    req.method = net::Method::kGet;
    req.url = std::move(url);
    req.headers.Set("Accept", "application/did+ld+json, application/json, text/plain");
    if (!host_header.empty()) req.headers.Set("Host", host_header);
    req.timeout = options.timeout;
    auto resp = co_await http.Send(std::move(req));
    if (!resp.ok()) co_return std::move(resp).error();
    if (resp->status == 404 || resp->status == 410) {
      co_return NotFound("not found (" + std::to_string(resp->status) + ")");
    }
    if (resp->status < 200 || resp->status >= 300) {
      co_return Error(ErrorCode::kUnavailable, "HTTP " + std::to_string(resp->status));
    }
    if (resp->body.size() > max_bytes) {
      co_return ResourceExhausted("response larger than " + std::to_string(max_bytes) + " bytes");
    }
    co_return std::move(resp->body);
  }

  net::Task<Result<DidDocument>> FetchDid(std::string did) {
    std::string url;
    if (did.starts_with("did:plc:")) {
      std::string base = options.plc_url;
      while (base.ends_with('/')) base.pop_back();
      url = base + "/" + did;
    } else if (did.starts_with("did:web:")) {
      auto u = DidWebDocumentUrl(did, options.allow_insecure_dev_hosts);
      if (!u.ok()) co_return std::move(u).error();
      url = *u;
    } else {
      co_return InvalidArgument("unsupported DID method: " + did);
    }
    auto text = co_await FetchText(url, {}, 64 * 1024);
    if (!text.ok()) {
      Error e = std::move(text).error();
      e.message = "resolving " + did + " via " + url + ": " + e.message;
      co_return e;
    }
    co_return ParseDidDocument(*text, did);
  }

  std::optional<std::string> OverrideFor(std::string_view handle) const {
    for (const auto& [suffix, base] : options.handle_overrides) {
      if (handle.ends_with(suffix)) return base;
    }
    return std::nullopt;
  }

  net::Task<Result<std::string>> FetchHandle(std::string handle) {
    if (auto base = OverrideFor(handle)) {
      std::string b = *base;
      while (b.ends_with('/')) b.pop_back();
      auto text = co_await FetchText(b + "/.well-known/atproto-did", handle, 2048);
      if (!text.ok()) co_return std::move(text).error();
      std::string did = TrimWhitespace(*text);
      if (!atproto::ValidateDid(did).ok()) co_return InvalidArgument("handle gave a bad DID");
      co_return did;
    }
    if (atproto::IsReservedHandle(handle)) {
      co_return NotFound("handle " + handle + " is under a reserved TLD");
    }
    std::set<std::string> dids;
    if (options.use_dns) {
      Result<std::vector<std::string>> txt = std::vector<std::string>{};
      co_await net::RunBlocking([&] {
        txt = internal::LookupTxt("_atproto." + handle, options.timeout);
      });
      if (txt.ok()) {
        for (const auto& v : *txt) {
          if (v.starts_with("did=")) dids.insert(TrimWhitespace(v.substr(4)));
        }
      }
    }
    if (dids.size() > 1) co_return InvalidArgument("handle " + handle + " has several DIDs in DNS");
    if (dids.size() == 1) {
      std::string did = *dids.begin();
      if (!atproto::ValidateDid(did).ok()) co_return InvalidArgument("DNS gave a bad DID");
      co_return did;
    }
    std::string scheme = (options.allow_insecure_dev_hosts && IsDevHost(handle)) ? "http" : "https";
    auto text = co_await FetchText(scheme + "://" + handle + "/.well-known/atproto-did", {}, 2048);
    if (!text.ok()) {
      Error e = std::move(text).error();
      e.message = "handle " + handle + " did not resolve: " + e.message;
      co_return e;
    }
    std::string did = TrimWhitespace(*text);
    if (!atproto::ValidateDid(did).ok()) co_return InvalidArgument("handle gave a bad DID");
    co_return did;
  }
};

Resolver::Resolver(ResolverOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Resolver::~Resolver() = default;
const ResolverOptions& Resolver::options() const { return impl_->options; }

void Resolver::Invalidate(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  std::string key(id);
  impl_->docs.erase(key);
  impl_->handles.erase(atproto::NormalizeHandle(key));
}

net::Task<Result<DidDocument>> Resolver::ResolveDid(std::string_view did_in, bool force_refresh) {
  std::string did(did_in);
  if (auto st = atproto::ValidateDid(did); !st.ok()) co_return st.error();
  if (!force_refresh) {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->docs.find(did);
    if (it != impl_->docs.end() && it->second.expires > Clock::now()) co_return it->second.value;
  }
  Result<DidDocument> doc = co_await impl_->FetchDid(did);
  {
    std::lock_guard lock(impl_->mu);
    impl_->Trim(impl_->docs);
    // Transport failures are not cached; a definite answer (document or not-found) is.
    if (doc.ok() || doc.error().code != ErrorCode::kUnavailable) {
      impl_->docs.insert_or_assign(did, Impl::DocEntry{doc, impl_->ExpiryFor(doc.ok())});
    }
  }
  co_return doc;
}

net::Task<Result<std::string>> Resolver::ResolveHandle(std::string_view handle_in,
                                                       bool force_refresh) {
  if (auto st = atproto::ValidateHandle(handle_in); !st.ok()) co_return st.error();
  std::string handle = atproto::NormalizeHandle(handle_in);
  if (!force_refresh) {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->handles.find(handle);
    if (it != impl_->handles.end() && it->second.expires > Clock::now()) {
      co_return it->second.value;
    }
  }
  Result<std::string> did = co_await impl_->FetchHandle(handle);
  {
    std::lock_guard lock(impl_->mu);
    impl_->Trim(impl_->handles);
    if (did.ok() || did.error().code != ErrorCode::kUnavailable) {
      impl_->handles.insert_or_assign(handle, Impl::HandleEntry{did, impl_->ExpiryFor(did.ok())});
    }
  }
  co_return did;
}

net::Task<Result<Identity>> Resolver::Resolve(std::string_view id_in, bool force_refresh) {
  std::string id(id_in);
  Identity out;
  if (id.starts_with("did:")) {
    auto doc = co_await ResolveDid(id, force_refresh);
    if (!doc.ok()) co_return std::move(doc).error();
    out.document = std::move(*doc);
    out.did = out.document.did;
    out.handle = "handle.invalid";
    if (!out.document.handle.empty()) {
      auto back = co_await ResolveHandle(out.document.handle, force_refresh);
      if (back.ok() && *back == out.did) out.handle = out.document.handle;
    }
  } else {
    auto did = co_await ResolveHandle(id, force_refresh);
    if (!did.ok()) co_return std::move(did).error();
    auto doc = co_await ResolveDid(*did, force_refresh);
    if (!doc.ok()) co_return std::move(doc).error();
    std::string handle = atproto::NormalizeHandle(id);
    if (doc->handle != handle) {
      co_return InvalidArgument("handle " + handle + " points to " + *did +
                                ", whose DID document does not claim it back");
    }
    out.document = std::move(*doc);
    out.did = out.document.did;
    out.handle = handle;
  }
  out.pds_endpoint = out.document.pds_endpoint;
  out.signing_key = out.document.signing_key;
  co_return out;
}

Result<Identity> Resolver::ResolveBlocking(std::string_view id, bool force_refresh) {
  boost::asio::io_context io;
  std::string owned(id);  // the coroutine starts inside io.run(); keep its argument alive
  std::optional<Result<Identity>> out;
  boost::asio::co_spawn(
      io, [&]() -> net::Task<void> { out.emplace(co_await Resolve(owned, force_refresh)); },
      boost::asio::detached);
  io.run();
  if (!out) return Internal("identity resolution did not complete");
  return std::move(*out);
}

}  // namespace atcr::identity
