// Shared pieces of the registry tests: a temp dir, a coroutine runner, an in-memory content
// store (memfd-backed), a raw HTTP/1.1 client (one connection per request unless asked,
// chunked bodies, half-sent bodies) and a registry server on 127.0.0.1 port 0.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "atcr/base/hash.h"
#include "atcr/base/time.h"
#include "atcr/net/router.h"
#include "atcr/net/server.h"
#include "atcr/oci/digest.h"
#include "atcr/registry/distribution_api.h"
#include "atcr/registry/filesystem.h"
#include "atcr/storage/fs_blob_store.h"

namespace atcr::registry::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "atcr-registry-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a coroutine to completion on a private io_context.
template <typename T>
T RunSync(net::Task<T> task) {
  boost::asio::io_context ioc;
  std::optional<T> out;  // T (a Result) need not be default-constructible
  std::exception_ptr error;
  boost::asio::co_spawn(
      ioc, [&]() -> net::Task<void> { out.emplace(co_await std::move(task)); },
      [&](std::exception_ptr e) { error = e; });
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

inline std::string DigestOf(std::string_view data) {
  return oci::Digest::Sha256Of(AsBytes(data)).str();
}

// A content store in memory. With a redirect base it answers reads like an object store:
// with a URL instead of a file.
class MemContentStore : public storage::BlobStore {
 public:
  explicit MemContentStore(std::string redirect_base = {})
      : redirect_base_(std::move(redirect_base)) {}

  Result<storage::BlobInfo> Stat(const oci::Digest& d) override {
    std::lock_guard lock(mu_);
    auto it = blobs_.find(d.str());
    if (it == blobs_.end()) return NotFound("no blob " + d.str());
    return storage::BlobInfo{d, it->second.size(), 0};
  }
  Result<storage::BlobRead> Open(const oci::Digest& d) override {
    std::string data;
    {
      std::lock_guard lock(mu_);
      auto it = blobs_.find(d.str());
      if (it == blobs_.end()) return NotFound("no blob " + d.str());
      data = it->second;
    }
    if (!redirect_base_.empty()) {
      return storage::BlobRead{-1, data.size(), redirect_base_ + d.str(), UnixSeconds() + 60};
    }
    int fd = ::memfd_create("blob", MFD_CLOEXEC);
    if (fd < 0) return ErrnoError("memfd_create", errno);
    if (!data.empty() && ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
      ::close(fd);
      return Internal("memfd write");
    }
    ::lseek(fd, 0, SEEK_SET);
    return storage::BlobRead{fd, data.size(), {}, 0};
  }
  Status Delete(const oci::Digest& d) override {
    std::lock_guard lock(mu_);
    if (blobs_.erase(d.str()) == 0) return NotFound("no blob");
    return Ok();
  }
  Result<std::vector<storage::BlobInfo>> List() override {
    std::lock_guard lock(mu_);
    std::vector<storage::BlobInfo> out;
    for (const auto& [k, v] : blobs_) out.push_back({*oci::Digest::Parse(k), v.size(), 0});
    return out;
  }
  Result<std::unique_ptr<storage::UploadWriter>> CreateUpload() override {
    std::lock_guard lock(mu_);
    std::string id = RandomId();
    uploads_[id] = std::make_shared<std::string>();
    return std::unique_ptr<storage::UploadWriter>(new Writer(this, id, uploads_[id]));
  }
  Result<std::unique_ptr<storage::UploadWriter>> OpenUpload(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = uploads_.find(id);
    if (it == uploads_.end()) return NotFound("no upload " + id);
    return std::unique_ptr<storage::UploadWriter>(new Writer(this, id, it->second));
  }
  Status AbortUpload(const std::string& id) override {
    std::lock_guard lock(mu_);
    if (uploads_.erase(id) == 0) return NotFound("no upload " + id);
    return Ok();
  }
  Result<size_t> CleanupUploads(int64_t) override { return size_t{0}; }

 private:
  class Writer : public storage::UploadWriter {
   public:
    Writer(MemContentStore* s, std::string id, std::shared_ptr<std::string> data)
        : store_(s), id_(std::move(id)), data_(std::move(data)) {}
    const std::string& id() const override { return id_; }
    uint64_t size() const override { return data_->size(); }
    Status Append(ByteSpan b) override {
      data_->append(AsString(b));
      return Ok();
    }
    Result<storage::BlobInfo> Commit(const oci::Digest& expected) override {
      Hasher h(expected.hash_algorithm());
      h.Update(std::string_view(*data_));
      oci::Digest got = oci::Digest::FromHash(expected.hash_algorithm(), h.Finish());
      if (got != expected) {
        return InvalidArgument("digest mismatch: got " + got.str(), "DIGEST_INVALID");
      }
      std::lock_guard lock(store_->mu_);
      store_->blobs_[expected.str()] = *data_;
      store_->uploads_.erase(id_);
      return storage::BlobInfo{expected, data_->size(), 0};
    }

   private:
    MemContentStore* store_;
    std::string id_;
    std::shared_ptr<std::string> data_;
  };

  std::string redirect_base_;
  std::mutex mu_;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, std::shared_ptr<std::string>> uploads_;
};

// The stores over `content`; when it is null, over the real filesystem content store, which
// is then kept in `content` so a restart can reuse it.
inline FsStores OpenStores(const std::string& dir, std::shared_ptr<storage::BlobStore>& content) {
  FsStoresOptions o;
  o.data_dir = dir;
  o.fsync = false;
  auto stores = content ? OpenFsStores(o, content) : OpenFsStores(o);
  if (!stores.ok()) {
    std::fprintf(stderr, "OpenFsStores(%s): %s\n", dir.c_str(), stores.error().ToString().c_str());
    std::abort();
  }
  content = stores->storage;
  return *stores;
}

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::string> Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return std::nullopt;
  }
  // The "code" of the first OCI error in the body, or "".
  std::string ErrorCode() const {
    auto p = body.find("\"code\":\"");
    if (p == std::string::npos) return "";
    p += 8;
    return body.substr(p, body.find('"', p) - p);
  }
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Minimal blocking HTTP/1.1 client: one connection per request ("Connection: close").
class TestClient {
 public:
  explicit TestClient(uint16_t port) : port_(port) {}

  int Connect() const {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return -1;
    }
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }

  static bool SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  static std::string Head(std::string_view method, std::string_view target, const HeaderList& h) {
    std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
    req += "Host: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto& [k, v] : h) req += k + ": " + v + "\r\n";
    return req;
  }

  HttpResponse Do(std::string_view method, std::string_view target, const HeaderList& headers = {},
                  std::string_view body = {}) const {
    std::string req = Head(method, target, headers);
    bool has_length = false;
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), "Content-Length") == 0 ||
          strcasecmp(k.c_str(), "Transfer-Encoding") == 0) {
        has_length = true;
      }
    }
    if (!has_length && (!body.empty() || method == "PUT" || method == "POST" || method == "PATCH")) {
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n";
    req += body;
    return Exchange(req, method == "HEAD");
  }

  // Sends the body with chunked transfer encoding, in pieces of `piece` bytes.
  HttpResponse DoChunked(std::string_view method, std::string_view target, HeaderList headers,
                         std::string_view body, size_t piece = 7) const {
    headers.emplace_back("Transfer-Encoding", "chunked");
    std::string req = Head(method, target, headers) + "\r\n";
    for (size_t i = 0; i < body.size(); i += piece) {
      std::string_view part = body.substr(i, piece);
      char len[32];
      std::snprintf(len, sizeof len, "%zx\r\n", part.size());
      req += len;
      req += part;
      req += "\r\n";
    }
    req += "0\r\n\r\n";
    return Exchange(req, false);
  }

  HttpResponse Exchange(const std::string& request, bool head) const {
    int fd = Connect();
    HttpResponse r;
    if (fd < 0) return r;
    if (!SendAll(fd, request)) {
      ::close(fd);
      return r;
    }
    std::string raw = ReadAll(fd);
    ::close(fd);
    return Parse(raw, head);
  }

  static std::string ReadAll(int fd) {
    std::string raw;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      raw.append(buf, static_cast<size_t>(n));
    }
    return raw;
  }

  static HttpResponse Parse(const std::string& raw, bool head) {
    HttpResponse r;
    size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos || raw.size() < 12) return r;
    r.status = std::atoi(raw.substr(9, 3).c_str());
    size_t pos = raw.find("\r\n") + 2;
    while (pos < end) {
      size_t eol = raw.find("\r\n", pos);
      std::string line = raw.substr(pos, eol - pos);
      size_t colon = line.find(':');
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), v);
      pos = eol + 2;
    }
    std::string rest = raw.substr(end + 4);
    if (head || r.status == 204 || r.status == 304) return r;
    auto te = r.Header("Transfer-Encoding");
    if (te && te->find("chunked") != std::string::npos) {
      size_t p = 0;
      while (p < rest.size()) {
        size_t eol = rest.find("\r\n", p);
        size_t n = std::stoul(rest.substr(p, eol - p), nullptr, 16);
        if (n == 0) break;
        r.body += rest.substr(eol + 2, n);
        p = eol + 2 + n + 2;
      }
    } else if (auto cl = r.Header("Content-Length")) {
      r.body = rest.substr(0, std::stoul(*cl));
    } else {
      r.body = rest;
    }
    return r;
  }

 private:
  uint16_t port_;
};

// A registry on 127.0.0.1:0 over a data dir; destroy and recreate to restart.
class TestRegistry {
 public:
  TestRegistry(const std::string& dir, DistributionApiOptions options,
               std::shared_ptr<storage::BlobStore>* content = nullptr) {
    std::shared_ptr<storage::BlobStore> local;
    std::shared_ptr<storage::BlobStore>& c = content ? *content : local;
    stores_ = OpenStores(dir, c);
    if (!options.metrics) options.metrics = std::make_shared<net::Metrics>();
    metrics_ = options.metrics;
    api_ = std::make_shared<DistributionApi>(options, stores_.manifests, stores_.blobs,
                                             stores_.uploads);
    net::Router router;
    api_->Register(router);
    net::ServerOptions so;
    so.address = "127.0.0.1";
    so.port = 0;
    so.threads = 2;
    so.access_log = false;
    so.metrics = metrics_;
    server_ = std::make_unique<net::Server>(so, std::move(router));
    Status st = server_->Start();
    if (!st.ok()) std::abort();
  }
  ~TestRegistry() { server_->Stop(); }

  uint16_t port() const { return server_->port(); }
  TestClient client() const { return TestClient(port()); }
  const FsStores& stores() const { return stores_; }

 private:
  FsStores stores_;
  std::shared_ptr<net::Metrics> metrics_;
  std::shared_ptr<DistributionApi> api_;
  std::unique_ptr<net::Server> server_;
};

}  // namespace atcr::registry::testing
