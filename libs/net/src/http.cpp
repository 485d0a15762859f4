// The Beast-free parts of http.h: methods, headers, query strings, percent-coding, the
// generic BodyReader helpers and the Response factories.
#include "atcr/net/http.h"

#include <algorithm>
#include <array>

#include "internal/ascii.h"

namespace atcr::net {

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kPatch: return "PATCH";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

Method ParseMethod(std::string_view name) {
  // Methods are case-sensitive (RFC 9110 9.1).
  if (name == "GET") return Method::kGet;
  if (name == "HEAD") return Method::kHead;
  if (name == "POST") return Method::kPost;
  if (name == "PUT") return Method::kPut;
  if (name == "PATCH") return Method::kPatch;
  if (name == "DELETE") return Method::kDelete;
  if (name == "OPTIONS") return Method::kOptions;
  return Method::kOther;
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : entries_) {
    if (internal::IEquals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::GetAll(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : entries_) {
    if (internal::IEquals(k, name)) out.emplace_back(v);
  }
  return out;
}

void Headers::Add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  Add(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(entries_, [&](const auto& e) { return internal::IEquals(e.first, name); });
}

Task<Result<std::string>> BodyReader::ReadAll(uint64_t max_bytes) {
  const uint64_t cap = std::min(limit(), max_bytes);
  if (auto cl = content_length(); cl && *cl > cap) {
    co_return ResourceExhausted("request body of " + std::to_string(*cl) +
                                " bytes exceeds the limit of " + std::to_string(cap) + " bytes");
  }
  std::string out;
  if (auto cl = content_length()) out.reserve(static_cast<size_t>(*cl));
  constexpr size_t kStep = 64 * 1024;
  for (;;) {
    if (out.size() > cap) {
      co_return ResourceExhausted("request body exceeds the limit of " + std::to_string(cap) +
                                  " bytes");
    }
    const size_t old = out.size();
    // Ask for at most cap + 1 bytes in total so an oversized body is detected without
    // buffering more than one byte past the limit.
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kStep, cap + 1 - old));
    out.resize(old + want);
    auto n = co_await Read(std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()) + old, want));
    if (!n.ok()) co_return std::move(n).error();
    out.resize(old + *n);
    if (*n == 0) break;
  }
  co_return out;
}

Task<Result<void>> BodyReader::Drain() {
  std::array<uint8_t, 16 * 1024> buf;
  for (;;) {
    auto n = co_await Read(buf);
    if (!n.ok()) co_return std::move(n).error();
    if (*n == 0) co_return Ok();
  }
}

namespace {

// Splits "a=1&b=2" and calls fn(raw_key, raw_value) for each pair.
template <typename Fn>
void ForEachQueryPair(std::string_view query, Fn&& fn) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (!fn(key, value)) return;
  }
}

}  // namespace

std::optional<std::string> Request::Query(std::string_view key) const {
  std::optional<std::string> out;
  ForEachQueryPair(query, [&](std::string_view k, std::string_view v) {
    auto dk = PercentDecode(k, true);
    if (!dk.ok() || *dk != key) return true;
    auto dv = PercentDecode(v, true);
    if (!dv.ok()) return true;  // a malformed value is treated as absent
    out = std::move(*dv);
    return false;
  });
  return out;
}

std::vector<std::string> Request::QueryAll(std::string_view key) const {
  std::vector<std::string> out;
  ForEachQueryPair(query, [&](std::string_view k, std::string_view v) {
    auto dk = PercentDecode(k, true);
    if (!dk.ok() || *dk != key) return true;
    auto dv = PercentDecode(v, true);
    if (dv.ok()) out.push_back(std::move(*dv));
    return true;
  });
  return out;
}

Response Response::Empty(int status) {
  Response r;
  r.status = status;
  return r;
}

Response Response::Text(int status, std::string text, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", std::move(content_type));
  r.body = std::move(text);
  return r;
}

Response Response::Json(int status, std::string json) {
  return Text(status, std::move(json), "application/json");
}

Response Response::WebSocketUpgrade(WebSocketSession session, uint64_t max_message_bytes) {
  Response r;
  r.status = 101;
  r.websocket = std::move(session);
  r.websocket_max_message_bytes = max_message_bytes;
  return r;
}

Result<std::string> PercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      int hi = i + 2 < in.size() ? internal::HexValue(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? internal::HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return InvalidArgument("malformed percent-escape at offset " + std::to_string(i));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    auto u = static_cast<unsigned char>(c);
    if (internal::IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace atcr::net
