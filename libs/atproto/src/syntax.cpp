#include "atcr/atproto/syntax.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace atcr::atproto {
namespace {

// Error messages quote the input, cut short so hostile input cannot blow up logs.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

Error Bad(std::string_view what, std::string_view input, std::string_view why) {
  return InvalidArgument("invalid " + std::string(what) + " " + Quote(input) + ": " +
                         std::string(why));
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// A DNS-style label: 1-63 of [A-Za-z0-9-], no hyphen at either end.
const char* CheckDomainLabel(std::string_view label) {
  if (label.empty()) return "empty label";
  if (label.size() > 63) return "label longer than 63 characters";
  for (char c : label) {
    if (!IsAlnum(c) && c != '-') return "label has a character outside [A-Za-z0-9-]";
  }
  if (label.front() == '-' || label.back() == '-') return "label starts or ends with '-'";
  return nullptr;
}

bool IsTidChar(char c) { return (c >= '2' && c <= '7') || IsLowerAlpha(c); }
bool IsRecordKeyChar(char c) {
  return IsAlnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '~';
}

int ParseDigits(std::string_view s, size_t pos, size_t n, bool* ok) {
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (pos + i >= s.size() || !IsDigit(s[pos + i])) {
      *ok = false;
      return 0;
    }
    v = v * 10 + (s[pos + i] - '0');
  }
  return v;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int DaysInMonth(int y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
std::string LowerString(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}
bool AllOf(std::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

}  // namespace

Status ValidateDid(std::string_view did) {
  if (did.size() > kMaxDidLength) return Bad("DID", did, "longer than 2048 characters");
  if (!did.starts_with("did:")) return Bad("DID", did, "must start with \"did:\"");
  std::string_view rest = did.substr(4);
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return Bad("DID", did, "missing method-specific id");
  std::string_view method = rest.substr(0, colon);
  if (method.empty()) return Bad("DID", did, "empty method");
  if (!AllOf(method, IsLowerAlpha)) return Bad("DID", did, "method must be [a-z]+");
  std::string_view id = rest.substr(colon + 1);
  if (id.empty()) return Bad("DID", did, "empty method-specific id");
  for (char c : id) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != ':' && c != '%' && c != '-') {
      return Bad("DID", did, "character outside [A-Za-z0-9._:%-]");
    }
  }
  if (id.back() == ':' || id.back() == '%') return Bad("DID", did, "ends with ':' or '%'");
  return Ok();
}

Status ValidateHandle(std::string_view handle) {
  if (handle.empty()) return Bad("handle", handle, "empty");
  if (handle.size() > kMaxHandleLength) return Bad("handle", handle, "longer than 253 characters");
  auto labels = Split(handle, '.');
  if (labels.size() < 2) return Bad("handle", handle, "needs at least two labels");
  for (std::string_view label : labels) {
    if (const char* why = CheckDomainLabel(label)) return Bad("handle", handle, why);
  }
  if (!IsAlpha(labels.back().front())) {
    return Bad("handle", handle, "top-level domain must start with a letter");
  }
  return Ok();
}

Status ValidateNsid(std::string_view nsid) {
  if (nsid.empty()) return Bad("NSID", nsid, "empty");
  if (nsid.size() > kMaxNsidLength) return Bad("NSID", nsid, "longer than 317 characters");
  auto segments = Split(nsid, '.');
  if (segments.size() < 3) return Bad("NSID", nsid, "needs at least three segments");
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    if (const char* why = CheckDomainLabel(segments[i])) return Bad("NSID", nsid, why);
  }
  if (!IsAlpha(segments.front().front())) {
    return Bad("NSID", nsid, "first segment must start with a letter");
  }
  std::string_view name = segments.back();
  if (name.empty()) return Bad("NSID", nsid, "empty name segment");
  if (name.size() > 63) return Bad("NSID", nsid, "name longer than 63 characters");
  if (!IsAlpha(name.front())) return Bad("NSID", nsid, "name must start with a letter");
  if (!AllOf(name, IsAlnum)) return Bad("NSID", nsid, "name must be [A-Za-z0-9]");
  return Ok();
}

Status ValidateTid(std::string_view tid) {
  if (tid.size() != 13) return Bad("TID", tid, "must be 13 characters");
  for (char c : tid) {
    if (!IsTidChar(c)) return Bad("TID", tid, "character outside base32-sortable");
  }
  if (tid[0] > 'j') return Bad("TID", tid, "top bit must be zero");
  return Ok();
}

Status ValidateRecordKey(std::string_view rkey) {
  if (rkey.empty()) return Bad("record key", rkey, "empty");
  if (rkey.size() > kMaxRecordKeyLength) {
    return Bad("record key", rkey, "longer than 512 characters");
  }
  if (rkey == "." || rkey == "..") return Bad("record key", rkey, "'.' and '..' are reserved");
  if (!AllOf(rkey, IsRecordKeyChar)) {
    return Bad("record key", rkey, "character outside [A-Za-z0-9._:~-]");
  }
  return Ok();
}

Status ValidateAtIdentifier(std::string_view ident) {
  if (ident.starts_with("did:")) return ValidateDid(ident);
  if (ValidateHandle(ident).ok()) return Ok();
  return Bad("at-identifier", ident, "neither a handle nor a DID");
}

Result<AtUri> AtUri::Parse(std::string_view text) {
  if (text.size() > kMaxAtUriLength) return Bad("AT-URI", text, "longer than 8192 characters");
  if (!text.starts_with("at://")) return Bad("AT-URI", text, "must start with \"at://\"");
  auto parts = Split(text.substr(5), '/');
  if (parts.size() > 3) return Bad("AT-URI", text, "more than authority/collection/rkey");
  AtUri uri;
  if (!ValidateAtIdentifier(parts[0]).ok()) {
    return Bad("AT-URI", text, "authority is neither a handle nor a DID");
  }
  uri.authority = std::string(parts[0]);
  if (parts.size() >= 2) {
    if (!ValidateNsid(parts[1]).ok()) return Bad("AT-URI", text, "collection is not an NSID");
    uri.collection = std::string(parts[1]);
  }
  if (parts.size() == 3) {
    if (!ValidateRecordKey(parts[2]).ok()) {
      return Bad("AT-URI", text, "record key is not valid");
    }
    uri.rkey = std::string(parts[2]);
  }
  return uri;
}

std::string AtUri::ToString() const {
  std::string out = "at://" + authority;
  if (!collection.empty()) {
    out += "/" + collection;
    if (!rkey.empty()) out += "/" + rkey;
  }
  return out;
}

Status ValidateAtUri(std::string_view uri) {
  auto parsed = AtUri::Parse(uri);
  if (!parsed.ok()) return std::move(parsed).error();
  return Ok();
}

Status ValidateDatetime(std::string_view s) {
  if (s.size() > kMaxDatetimeLength) return Bad("datetime", s, "longer than 64 characters");
  // YYYY-MM-DDTHH:MM:SS
  bool ok = true;
  int year = ParseDigits(s, 0, 4, &ok);
  bool seps = s.size() >= 19 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
              s[16] == ':';
  int month = ParseDigits(s, 5, 2, &ok);
  int day = ParseDigits(s, 8, 2, &ok);
  int hour = ParseDigits(s, 11, 2, &ok);
  int minute = ParseDigits(s, 14, 2, &ok);
  int second = ParseDigits(s, 17, 2, &ok);
  if (!ok || !seps) return Bad("datetime", s, "expected YYYY-MM-DDTHH:MM:SS");
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    if (pos == start) return Bad("datetime", s, "empty fractional seconds");
  }
  int offset_minutes = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    bool negative = s[pos] == '-';
    int oh = ParseDigits(s, pos + 1, 2, &ok);
    bool colon = pos + 3 < s.size() && s[pos + 3] == ':';
    int om = ParseDigits(s, pos + 4, 2, &ok);
    if (!ok || !colon) return Bad("datetime", s, "timezone offset must be +HH:MM or -HH:MM");
    if (oh > 23 || om > 59) return Bad("datetime", s, "timezone offset out of range");
    if (negative && oh == 0 && om == 0) return Bad("datetime", s, "\"-00:00\" is not allowed");
    offset_minutes = (negative ? -1 : 1) * (oh * 60 + om);
    pos += 6;
  } else {
    return Bad("datetime", s, "timezone (Z or +HH:MM) is required");
  }
  if (pos != s.size()) return Bad("datetime", s, "trailing characters");
  if (month < 1 || month > 12) return Bad("datetime", s, "month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return Bad("datetime", s, "day out of range");
  if (hour > 23) return Bad("datetime", s, "hour out of range");
  if (minute > 59) return Bad("datetime", s, "minute out of range");
  if (second > 59) return Bad("datetime", s, "second out of range");
  if (year == 0 && month == 1 && day == 1 && hour * 60 + minute - offset_minutes < 0) {
    return Bad("datetime", s, "normalizes to before year 0");
  }
  return Ok();
}

Status ValidateCidSyntax(std::string_view cid) {
  if (cid.size() < 8 || cid.size() > 256) return Bad("CID", cid, "must be 8-256 characters");
  for (char c : cid) {
    if (!IsAlnum(c) && c != '+' && c != '=') return Bad("CID", cid, "character outside base set");
  }
  if (cid.starts_with("Qm")) return Bad("CID", cid, "CIDv0 is not supported");
  return Ok();
}

namespace {

constexpr std::array<std::string_view, 26> kGrandfathered = {
    "en-GB-oed", "i-ami",     "i-bnn",      "i-default",   "i-enochian", "i-hak",
    "i-klingon", "i-lux",     "i-mingo",    "i-navajo",    "i-pwn",      "i-tao",
    "i-tay",     "i-tsu",     "sgn-BE-FR",  "sgn-BE-NL",   "sgn-CH-DE",  "art-lojban",
    "cel-gaulish", "no-bok",  "no-nyn",     "zh-guoyu",    "zh-hakka",   "zh-min",
    "zh-min-nan", "zh-xiang"};

bool AlnumLen(std::string_view s, size_t lo, size_t hi) {
  return s.size() >= lo && s.size() <= hi && AllOf(s, IsAlnum);
}
bool AlphaLen(std::string_view s, size_t lo, size_t hi) {
  return s.size() >= lo && s.size() <= hi && AllOf(s, IsAlpha);
}

// privateuse = ("x"/"X") 1*("-" 1*8alphanum); `subtags` starts after the x.
bool PrivateUseTail(const std::vector<std::string_view>& subtags, size_t i) {
  if (i >= subtags.size()) return false;
  for (; i < subtags.size(); ++i) {
    if (!AlnumLen(subtags[i], 1, 8)) return false;
  }
  return true;
}

}  // namespace

Status ValidateLanguage(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return Bad("language", tag, "empty or too long");
  for (std::string_view g : kGrandfathered) {
    if (tag == g) return Ok();
  }
  auto subtags = Split(tag, '-');
  size_t i = 0;
  if (subtags[0] == "x" || subtags[0] == "X") {
    if (PrivateUseTail(subtags, 1)) return Ok();
    return Bad("language", tag, "malformed private-use tag");
  }
  // language: 2-3 lowercase letters (+ up to three 3-letter extlangs), or 5-8 letters.
  std::string_view lang = subtags[0];
  bool lower = AllOf(lang, IsLowerAlpha);
  if (lower && lang.size() >= 2 && lang.size() <= 3) {
    ++i;
    for (int n = 0; n < 3 && i < subtags.size() && subtags[i].size() == 3 &&
                    AllOf(subtags[i], IsLowerAlpha);
         ++n) {
      ++i;
    }
  } else if (lower && lang.size() >= 5 && lang.size() <= 8) {
    ++i;
  } else {
    return Bad("language", tag, "primary language subtag must be 2-3 or 5-8 lowercase letters");
  }
  if (i < subtags.size() && AlphaLen(subtags[i], 4, 4)) ++i;  // script
  if (i < subtags.size() &&
      (AlphaLen(subtags[i], 2, 2) || (subtags[i].size() == 3 && AllOf(subtags[i], IsDigit)))) {
    ++i;  // region
  }
  std::vector<std::string> seen_variants;
  while (i < subtags.size()) {
    std::string_view v = subtags[i];
    bool variant = AlnumLen(v, 5, 8) || (v.size() == 4 && IsDigit(v[0]) && AllOf(v, IsAlnum));
    if (!variant) break;
    std::string lv = LowerString(v);
    for (const auto& s : seen_variants) {
      if (s == lv) return Bad("language", tag, "repeated variant subtag");
    }
    seen_variants.push_back(std::move(lv));
    ++i;
  }
  std::string seen_singletons;
  while (i < subtags.size()) {
    std::string_view s = subtags[i];
    if (s.size() != 1 || !IsAlnum(s[0]) || s[0] == 'x' || s[0] == 'X') break;
    char low = Lower(s[0]);
    if (seen_singletons.find(low) != std::string::npos) {
      return Bad("language", tag, "repeated extension singleton");
    }
    seen_singletons += low;
    ++i;
    size_t start = i;
    while (i < subtags.size() && subtags[i].size() >= 2 && AlnumLen(subtags[i], 2, 8)) ++i;
    if (i == start) return Bad("language", tag, "extension without subtags");
  }
  if (i < subtags.size() && (subtags[i] == "x" || subtags[i] == "X")) {
    if (!PrivateUseTail(subtags, i + 1)) return Bad("language", tag, "malformed private use");
    return Ok();
  }
  if (i != subtags.size()) return Bad("language", tag, "unexpected subtag");
  return Ok();
}

Status ValidateUri(std::string_view uri) {
  if (uri.size() > kMaxUriLength) return Bad("URI", uri, "longer than 8192 characters");
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 81) {
    return Bad("URI", uri, "missing scheme");
  }
  std::string_view scheme = uri.substr(0, colon);
  if (!IsAlpha(scheme[0])) return Bad("URI", uri, "scheme must start with a letter");
  for (char c : scheme) {
    if (!IsAlnum(c) && c != '+' && c != '.' && c != '-') {
      return Bad("URI", uri, "invalid character in scheme");
    }
  }
  std::string_view rest = uri.substr(colon + 1);
  if (rest.empty()) return Bad("URI", uri, "nothing after the scheme");
  for (char c : rest) {
    if (c < '!' || c > '~') return Bad("URI", uri, "whitespace or non-ASCII character");
  }
  return Ok();
}

Result<RepoPath> SplitRepoPath(std::string_view path) {
  if (path.size() > kMaxRepoPathLength) return Bad("repo path", path, "longer than 1024");
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return Bad("repo path", path, "must be collection/rkey");
  RepoPath out{path.substr(0, slash), path.substr(slash + 1)};
  if (out.rkey.find('/') != std::string_view::npos) {
    return Bad("repo path", path, "must have exactly two segments");
  }
  if (!ValidateNsid(out.collection).ok()) return Bad("repo path", path, "collection not an NSID");
  if (!ValidateRecordKey(out.rkey).ok()) return Bad("repo path", path, "invalid record key");
  return out;
}

Status ValidateRepoPath(std::string_view path) {
  auto r = SplitRepoPath(path);
  if (!r.ok()) return std::move(r).error();
  return Ok();
}

std::string NormalizeHandle(std::string_view handle) { return LowerString(handle); }

bool IsReservedHandle(std::string_view handle, bool allow_test) {
  static constexpr std::array<std::string_view, 8> kReserved = {
      ".alt", ".arpa", ".example", ".internal", ".invalid", ".local", ".localhost", ".onion"};
  std::string lower = LowerString(handle);
  for (std::string_view tld : kReserved) {
    if (lower.ends_with(tld)) return true;
  }
  return !allow_test && lower.ends_with(".test");
}

}  // namespace atcr::atproto
