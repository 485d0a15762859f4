// Test helpers: a blocking raw-socket HTTP peer for byte-exact requests (malformed input,
// chunked bodies, 100-continue) and a tiny response reader.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace atcr::net::testing {

inline std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string head;
  bool Has(const std::string& name) const { return headers.count(Lower(name)) > 0; }
  std::string Get(const std::string& name) const {
    auto it = headers.find(Lower(name));
    return it == headers.end() ? std::string() : it->second;
  }
};

class RawConn {
 public:
  explicit RawConn(uint16_t port, int recv_timeout_ms = 10000) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error(std::string("connect: ") + strerror(errno));
    }
    timeval tv{recv_timeout_ms / 1000, (recv_timeout_ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  // False when the peer closed or the write timed out.
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until `marker` is in the buffer; returns everything up to and including it.
  // Empty on EOF/timeout.
  std::string ReadUntil(std::string_view marker) {
    for (;;) {
      size_t pos = buf_.find(marker);
      if (pos != std::string::npos) {
        std::string out = buf_.substr(0, pos + marker.size());
        buf_.erase(0, pos + marker.size());
        return out;
      }
      if (!Fill()) return {};
    }
  }

  // Reads one response. HEAD / 1xx / 204 / 304 responses have no body (pass head=true).
  RawResponse ReadResponse(bool head = false) {
    RawResponse r;
    r.head = ReadUntil("\r\n\r\n");
    if (r.head.empty()) return r;
    size_t line_end = r.head.find("\r\n");
    std::string status_line = r.head.substr(0, line_end);
    if (status_line.size() >= 12) r.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end + 2;
    while (pos < r.head.size()) {
      size_t e = r.head.find("\r\n", pos);
      if (e == pos) break;
      std::string line = r.head.substr(pos, e - pos);
      size_t colon = line.find(':');
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[Lower(line.substr(0, colon))] = value;
      pos = e + 2;
    }
    if (head || r.status < 200 || r.status == 204 || r.status == 304) return r;
    if (r.Has("content-length")) {
      r.body = ReadExactly(std::stoull(r.Get("content-length")));
    } else if (Lower(r.Get("transfer-encoding")) == "chunked") {
      for (;;) {
        std::string size_line = ReadUntil("\r\n");
        if (size_line.empty()) break;
        size_t n = std::stoul(size_line, nullptr, 16);
        if (n == 0) {
          ReadUntil("\r\n");
          break;
        }
        r.body += ReadExactly(n);
        ReadUntil("\r\n");
      }
    } else {
      while (Fill()) {
      }
      r.body = std::move(buf_);
      buf_.clear();
    }
    return r;
  }

  std::string ReadExactly(size_t n) {
    while (buf_.size() < n) {
      if (!Fill()) break;
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, std::min(n, buf_.size()));
    return out;
  }

  // True when the peer closes the connection (EOF or reset) within `wait`.
  bool ClosedByPeer(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      int r = ::poll(&p, 1, std::max(left, 1));
      if (r <= 0) continue;
      char c;
      ssize_t n = ::recv(fd_, &c, 1, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      if (n > 0) buf_.push_back(c);
    }
    return false;
  }

  int fd() const { return fd_; }
  const std::string& buffered() const { return buf_; }

 private:
  bool Fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
};

}  // namespace atcr::net::testing
