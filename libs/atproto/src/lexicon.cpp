#include "atcr/atproto/lexicon.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <boost/json.hpp>

#include "atcr/atproto/syntax.h"
#include "atcr/cbor/cid.h"
#include "atcr/cbor/json.h"
#include "builtin_lexicons.h"

namespace atcr::atproto {

namespace json = boost::json;

namespace {

constexpr size_t kMaxLexiconBytes = 1024 * 1024;
constexpr size_t kMaxDepth = 64;

enum class Kind {
  kNull,
  kBoolean,
  kInteger,
  kString,
  kBytes,
  kCidLink,
  kBlob,
  kArray,
  kObject,
  kParams,
  kRef,
  kUnion,
  kUnknown,
  kToken,
  kRecord,
  kQuery,
  kProcedure,
  kSubscription,
  kPermissionSet,
};

struct KindName {
  std::string_view name;
  Kind kind;
};
constexpr KindName kKindNames[] = {
    {"null", Kind::kNull},
    {"boolean", Kind::kBoolean},
    {"integer", Kind::kInteger},
    {"string", Kind::kString},
    {"bytes", Kind::kBytes},
    {"cid-link", Kind::kCidLink},
    {"blob", Kind::kBlob},
    {"array", Kind::kArray},
    {"object", Kind::kObject},
    {"params", Kind::kParams},
    {"ref", Kind::kRef},
    {"union", Kind::kUnion},
    {"unknown", Kind::kUnknown},
    {"token", Kind::kToken},
    {"record", Kind::kRecord},
    {"query", Kind::kQuery},
    {"procedure", Kind::kProcedure},
    {"subscription", Kind::kSubscription},
    {"permission-set", Kind::kPermissionSet},
};

std::string_view NameOf(Kind k) {
  for (const auto& kn : kKindNames) {
    if (kn.kind == k) return kn.name;
  }
  return "?";
}

bool IsPrimary(Kind k) {
  return k == Kind::kRecord || k == Kind::kQuery || k == Kind::kProcedure ||
         k == Kind::kSubscription || k == Kind::kPermissionSet;
}

enum class Format {
  kNone,
  kAtIdentifier,
  kAtUri,
  kCid,
  kDatetime,
  kDid,
  kHandle,
  kNsid,
  kTid,
  kRecordKey,
  kUri,
  kLanguage,
};

struct FormatName {
  std::string_view name;
  Format format;
};
constexpr FormatName kFormatNames[] = {
    {"at-identifier", Format::kAtIdentifier}, {"at-uri", Format::kAtUri},
    {"cid", Format::kCid},                    {"datetime", Format::kDatetime},
    {"did", Format::kDid},                    {"handle", Format::kHandle},
    {"nsid", Format::kNsid},                  {"tid", Format::kTid},
    {"record-key", Format::kRecordKey},       {"uri", Format::kUri},
    {"language", Format::kLanguage},
};

struct Schema;
using SchemaPtr = std::unique_ptr<Schema>;

struct Body {
  std::string encoding;
  SchemaPtr schema;  // may be null
};

struct Schema {
  Kind kind = Kind::kUnknown;
  // boolean / integer / string
  std::optional<bool> const_bool;
  std::optional<int64_t> const_int;
  std::optional<std::string> const_string;
  std::optional<int64_t> minimum, maximum;
  std::optional<std::vector<int64_t>> int_enum;
  std::optional<std::vector<std::string>> string_enum;
  Format format = Format::kNone;
  std::optional<uint64_t> min_length, max_length;  // string: UTF-8 bytes; bytes; array
  std::optional<uint64_t> min_graphemes, max_graphemes;
  // blob
  std::optional<std::vector<std::string>> accept;
  std::optional<uint64_t> max_size;
  // array
  SchemaPtr items;
  // object / params
  std::map<std::string, SchemaPtr, std::less<>> properties;
  std::vector<std::string> required;
  std::set<std::string, std::less<>> nullable;
  // ref / union: fully qualified "nsid#name"
  std::string ref;
  std::vector<std::string> refs;
  bool closed = false;
  // record
  std::string key;
  SchemaPtr record;
  // query / procedure / subscription
  SchemaPtr parameters;
  std::optional<Body> input, output;
  SchemaPtr message;
};

struct Document {
  std::string id;
  std::map<std::string, SchemaPtr, std::less<>> defs;
};

// ---------- parsing ----------

enum class Position { kMain, kDef, kField, kParam, kParamsRoot, kBody, kRecordObject, kMessage };

class Parser {
 public:
  explicit Parser(std::string id) : id_(std::move(id)) {}

  Result<SchemaPtr> Parse(const json::value& v, Position pos, const std::string& path,
                          size_t depth);

 private:
  Error Bad(const std::string& path, const std::string& why) const {
    return InvalidArgument("lexicon " + id_ + " " + path + ": " + why);
  }
  Result<std::string> QualifyRef(const json::value& v, const std::string& path) const;
  Result<std::optional<uint64_t>> GetUint(const json::object& o, std::string_view key,
                                          const std::string& path) const;
  Result<std::optional<int64_t>> GetInt(const json::object& o, std::string_view key,
                                        const std::string& path) const;
  Result<std::vector<std::string>> GetStrings(const json::object& o, std::string_view key,
                                              const std::string& path) const;
  Status ParseBody(const json::object& o, std::string_view key, const std::string& path,
                   size_t depth, std::optional<Body>* out);

  std::string id_;
};

std::optional<int64_t> JsonInt(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    double d = v.get_double();
    // 2^63 is exactly representable; anything at or above it does not fit.
    if (std::isfinite(d) && std::trunc(d) == d && d >= -9.2233720368547758e18 &&
        d < 9.2233720368547758e18) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

Result<std::optional<uint64_t>> Parser::GetUint(const json::object& o, std::string_view key,
                                                const std::string& path) const {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::optional<uint64_t>();
  auto i = JsonInt(*v);
  if (!i || *i < 0) return Bad(path, std::string(key) + " must be a non-negative integer");
  return std::optional<uint64_t>(static_cast<uint64_t>(*i));
}

Result<std::optional<int64_t>> Parser::GetInt(const json::object& o, std::string_view key,
                                              const std::string& path) const {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::optional<int64_t>();
  auto i = JsonInt(*v);
  if (!i) return Bad(path, std::string(key) + " must be an integer");
  return std::optional<int64_t>(*i);
}

Result<std::vector<std::string>> Parser::GetStrings(const json::object& o, std::string_view key,
                                                    const std::string& path) const {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return out;
  if (!v->is_array()) return Bad(path, std::string(key) + " must be an array of strings");
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) return Bad(path, std::string(key) + " must be an array of strings");
    out.emplace_back(e.get_string());
  }
  return out;
}

Result<std::string> Parser::QualifyRef(const json::value& v, const std::string& path) const {
  if (!v.is_string()) return Bad(path, "ref must be a string");
  std::string_view ref = v.get_string();
  std::string nsid, name;
  size_t hash = ref.find('#');
  if (hash == std::string_view::npos) {
    nsid = std::string(ref);
    name = "main";
  } else {
    nsid = hash == 0 ? id_ : std::string(ref.substr(0, hash));
    name = std::string(ref.substr(hash + 1));
  }
  if (!ValidateNsid(nsid).ok()) return Bad(path, "ref \"" + std::string(ref) + "\" has no NSID");
  if (name.empty()) return Bad(path, "ref \"" + std::string(ref) + "\" has an empty name");
  return nsid + "#" + name;
}

Status Parser::ParseBody(const json::object& o, std::string_view key, const std::string& path,
                         size_t depth, std::optional<Body>* out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return Ok();
  std::string p = path + "." + std::string(key);
  if (!v->is_object()) return Bad(p, "must be an object");
  const json::object& bo = v->get_object();
  Body body;
  const json::value* enc = bo.if_contains("encoding");
  if (enc == nullptr || !enc->is_string()) return Bad(p, "encoding must be a string");
  body.encoding = std::string(enc->get_string());
  if (const json::value* s = bo.if_contains("schema")) {
    ATCR_ASSIGN_OR_RETURN(body.schema, Parse(*s, Position::kBody, p + ".schema", depth + 1));
  }
  *out = std::move(body);
  return Ok();
}

Result<SchemaPtr> Parser::Parse(const json::value& v, Position pos, const std::string& path,
                                size_t depth) {
  if (depth > kMaxDepth) return Bad(path, "nested too deeply");
  if (!v.is_object()) return Bad(path, "definition must be an object");
  const json::object& o = v.get_object();
  const json::value* type = o.if_contains("type");
  if (type == nullptr || !type->is_string()) return Bad(path, "missing \"type\"");
  std::string_view type_name = type->get_string();
  auto kn = std::find_if(std::begin(kKindNames), std::end(kKindNames),
                         [&](const KindName& k) { return k.name == type_name; });
  if (kn == std::end(kKindNames)) {
    return Bad(path, "unknown type \"" + std::string(type_name) + "\"");
  }
  auto s = std::make_unique<Schema>();
  s->kind = kn->kind;
  const Kind k = s->kind;

  // Where each type may appear.
  bool allowed = false;
  switch (pos) {
    case Position::kMain:
    case Position::kDef:
      allowed = k != Kind::kParams && k != Kind::kRef && k != Kind::kUnion &&
                k != Kind::kUnknown && (pos == Position::kMain || !IsPrimary(k));
      if (pos == Position::kDef && IsPrimary(k)) {
        return Bad(path, std::string(NameOf(k)) + " must be the \"main\" definition");
      }
      break;
    case Position::kField:
      allowed = !IsPrimary(k) && k != Kind::kParams && k != Kind::kToken;
      break;
    case Position::kParam:
      allowed = k == Kind::kBoolean || k == Kind::kInteger || k == Kind::kString ||
                k == Kind::kArray || k == Kind::kUnknown;
      break;
    case Position::kBody:
      allowed = k == Kind::kObject || k == Kind::kRef || k == Kind::kUnion;
      break;
    case Position::kRecordObject:
      allowed = k == Kind::kObject;
      break;
    case Position::kParamsRoot:
      allowed = k == Kind::kParams;
      break;
    case Position::kMessage:
      allowed = k == Kind::kUnion || k == Kind::kObject || k == Kind::kRef;
      break;
  }
  if (!allowed) return Bad(path, "type \"" + std::string(type_name) + "\" not allowed here");

  switch (k) {
    case Kind::kNull:
    case Kind::kToken:
    case Kind::kCidLink:
    case Kind::kUnknown:
      break;
    case Kind::kBoolean:
      if (const json::value* c = o.if_contains("const")) {
        if (!c->is_bool()) return Bad(path, "const must be a boolean");
        s->const_bool = c->get_bool();
      }
      if (const json::value* d = o.if_contains("default"); d && !d->is_bool()) {
        return Bad(path, "default must be a boolean");
      }
      break;
    case Kind::kInteger: {
      ATCR_ASSIGN_OR_RETURN(s->minimum, GetInt(o, "minimum", path));
      ATCR_ASSIGN_OR_RETURN(s->maximum, GetInt(o, "maximum", path));
      ATCR_ASSIGN_OR_RETURN(s->const_int, GetInt(o, "const", path));
      ATCR_ASSIGN_OR_RETURN(auto def, GetInt(o, "default", path));
      (void)def;
      if (const json::value* e = o.if_contains("enum")) {
        if (!e->is_array()) return Bad(path, "enum must be an array of integers");
        std::vector<int64_t> vals;
        for (const auto& x : e->get_array()) {
          auto i = JsonInt(x);
          if (!i) return Bad(path, "enum must be an array of integers");
          vals.push_back(*i);
        }
        s->int_enum = std::move(vals);
      }
      if (s->minimum && s->maximum && *s->minimum > *s->maximum) {
        return Bad(path, "minimum is greater than maximum");
      }
      break;
    }
    case Kind::kString: {
      if (const json::value* f = o.if_contains("format")) {
        if (!f->is_string()) return Bad(path, "format must be a string");
        auto fn = std::find_if(std::begin(kFormatNames), std::end(kFormatNames),
                               [&](const FormatName& x) { return x.name == f->get_string(); });
        if (fn == std::end(kFormatNames)) {
          return Bad(path, "unknown string format \"" + std::string(f->get_string()) + "\"");
        }
        s->format = fn->format;
      }
      ATCR_ASSIGN_OR_RETURN(s->min_length, GetUint(o, "minLength", path));
      ATCR_ASSIGN_OR_RETURN(s->max_length, GetUint(o, "maxLength", path));
      ATCR_ASSIGN_OR_RETURN(s->min_graphemes, GetUint(o, "minGraphemes", path));
      ATCR_ASSIGN_OR_RETURN(s->max_graphemes, GetUint(o, "maxGraphemes", path));
      if (const json::value* c = o.if_contains("const")) {
        if (!c->is_string()) return Bad(path, "const must be a string");
        s->const_string = std::string(c->get_string());
      }
      if (const json::value* d = o.if_contains("default"); d && !d->is_string()) {
        return Bad(path, "default must be a string");
      }
      if (o.contains("enum")) {
        ATCR_ASSIGN_OR_RETURN(auto vals, GetStrings(o, "enum", path));
        s->string_enum = std::move(vals);
      }
      ATCR_ASSIGN_OR_RETURN(auto known, GetStrings(o, "knownValues", path));
      (void)known;
      break;
    }
    case Kind::kBytes: {
      ATCR_ASSIGN_OR_RETURN(s->min_length, GetUint(o, "minLength", path));
      ATCR_ASSIGN_OR_RETURN(s->max_length, GetUint(o, "maxLength", path));
      break;
    }
    case Kind::kBlob: {
      if (o.contains("accept")) {
        ATCR_ASSIGN_OR_RETURN(auto acc, GetStrings(o, "accept", path));
        s->accept = std::move(acc);
      }
      ATCR_ASSIGN_OR_RETURN(s->max_size, GetUint(o, "maxSize", path));
      break;
    }
    case Kind::kArray: {
      const json::value* items = o.if_contains("items");
      if (items == nullptr) return Bad(path, "array needs \"items\"");
      Position ipos = pos == Position::kParam ? Position::kParam : Position::kField;
      ATCR_ASSIGN_OR_RETURN(s->items, Parse(*items, ipos, path + ".items", depth + 1));
      if (pos == Position::kParam &&
          (s->items->kind == Kind::kArray || s->items->kind == Kind::kUnknown)) {
        return Bad(path, "parameter arrays hold booleans, integers or strings");
      }
      ATCR_ASSIGN_OR_RETURN(s->min_length, GetUint(o, "minLength", path));
      ATCR_ASSIGN_OR_RETURN(s->max_length, GetUint(o, "maxLength", path));
      break;
    }
    case Kind::kObject:
    case Kind::kParams: {
      if (const json::value* props = o.if_contains("properties")) {
        if (!props->is_object()) return Bad(path, "properties must be an object");
        Position ppos = k == Kind::kParams ? Position::kParam : Position::kField;
        for (const auto& [name, def] : props->get_object()) {
          ATCR_ASSIGN_OR_RETURN(SchemaPtr p, Parse(def, ppos, path + "." + std::string(name),
                                                   depth + 1));
          s->properties.emplace(std::string(name), std::move(p));
        }
      }
      ATCR_ASSIGN_OR_RETURN(s->required, GetStrings(o, "required", path));
      ATCR_ASSIGN_OR_RETURN(auto nullable, GetStrings(o, "nullable", path));
      s->nullable.insert(nullable.begin(), nullable.end());
      break;
    }
    case Kind::kRef: {
      const json::value* r = o.if_contains("ref");
      if (r == nullptr) return Bad(path, "ref needs \"ref\"");
      ATCR_ASSIGN_OR_RETURN(s->ref, QualifyRef(*r, path));
      break;
    }
    case Kind::kUnion: {
      const json::value* refs = o.if_contains("refs");
      if (refs == nullptr || !refs->is_array()) return Bad(path, "union needs \"refs\" array");
      for (const auto& r : refs->get_array()) {
        ATCR_ASSIGN_OR_RETURN(std::string q, QualifyRef(r, path));
        s->refs.push_back(std::move(q));
      }
      if (const json::value* c = o.if_contains("closed")) {
        if (!c->is_bool()) return Bad(path, "closed must be a boolean");
        s->closed = c->get_bool();
      }
      break;
    }
    case Kind::kRecord: {
      const json::value* key = o.if_contains("key");
      if (key == nullptr || !key->is_string()) return Bad(path, "record needs a \"key\" string");
      s->key = std::string(key->get_string());
      if (s->key != "tid" && s->key != "nsid" && s->key != "any") {
        if (!s->key.starts_with("literal:") || !ValidateRecordKey(s->key.substr(8)).ok()) {
          return Bad(path, "record key type must be tid, nsid, any or literal:<rkey>");
        }
      }
      const json::value* rec = o.if_contains("record");
      if (rec == nullptr) return Bad(path, "record needs \"record\"");
      ATCR_ASSIGN_OR_RETURN(s->record,
                            Parse(*rec, Position::kRecordObject, path + ".record", depth + 1));
      break;
    }
    case Kind::kQuery:
    case Kind::kProcedure:
    case Kind::kSubscription: {
      if (const json::value* params = o.if_contains("parameters")) {
        ATCR_ASSIGN_OR_RETURN(s->parameters,
                              Parse(*params, Position::kParamsRoot, path + ".parameters",
                                    depth + 1));
      }
      if (k == Kind::kProcedure) ATCR_TRY(ParseBody(o, "input", path, depth, &s->input));
      if (k != Kind::kSubscription) ATCR_TRY(ParseBody(o, "output", path, depth, &s->output));
      if (k == Kind::kSubscription) {
        if (const json::value* m = o.if_contains("message")) {
          if (!m->is_object()) return Bad(path, "message must be an object");
          if (const json::value* ms = m->get_object().if_contains("schema")) {
            ATCR_ASSIGN_OR_RETURN(s->message,
                                  Parse(*ms, Position::kMessage, path + ".message", depth + 1));
          }
        }
      }
      if (const json::value* errs = o.if_contains("errors")) {
        if (!errs->is_array()) return Bad(path, "errors must be an array");
        for (const auto& e : errs->get_array()) {
          const json::value* n = e.is_object() ? e.get_object().if_contains("name") : nullptr;
          if (n == nullptr || !n->is_string()) return Bad(path, "each error needs a name");
        }
      }
      break;
    }
    case Kind::kPermissionSet: {
      const json::value* perms = o.if_contains("permissions");
      if (perms == nullptr || !perms->is_array()) {
        return Bad(path, "permission-set needs a \"permissions\" array");
      }
      for (const auto& p : perms->get_array()) {
        if (!p.is_object()) return Bad(path, "each permission must be an object");
        const json::value* t = p.get_object().if_contains("type");
        const json::value* r = p.get_object().if_contains("resource");
        if (t == nullptr || !t->is_string() || t->get_string() != "permission") {
          return Bad(path, "each permission needs type \"permission\"");
        }
        if (r == nullptr || !r->is_string()) return Bad(path, "each permission needs a resource");
      }
      break;
    }
  }
  return s;
}

Result<Document> ParseDocument(const json::value& doc) {
  if (!doc.is_object()) return InvalidArgument("lexicon document must be a JSON object");
  const json::object& o = doc.get_object();
  const json::value* version = o.if_contains("lexicon");
  if (version == nullptr || JsonInt(*version) != std::optional<int64_t>(1)) {
    return InvalidArgument("lexicon document: \"lexicon\" must be the integer 1");
  }
  const json::value* id = o.if_contains("id");
  if (id == nullptr || !id->is_string()) {
    return InvalidArgument("lexicon document: \"id\" must be a string");
  }
  Document d;
  d.id = std::string(id->get_string());
  if (auto st = ValidateNsid(d.id); !st.ok()) {
    return InvalidArgument("lexicon document id: " + st.error().message);
  }
  if (const json::value* rev = o.if_contains("revision"); rev && !JsonInt(*rev)) {
    return InvalidArgument("lexicon " + d.id + ": revision must be an integer");
  }
  const json::value* defs = o.if_contains("defs");
  if (defs == nullptr || !defs->is_object()) {
    return InvalidArgument("lexicon " + d.id + ": \"defs\" must be an object");
  }
  Parser parser(d.id);
  for (const auto& [name, def] : defs->get_object()) {
    if (name.empty() || name.find('#') != json::string_view::npos) {
      return InvalidArgument("lexicon " + d.id + ": bad def name");
    }
    Position pos = name == "main" ? Position::kMain : Position::kDef;
    ATCR_ASSIGN_OR_RETURN(SchemaPtr s, parser.Parse(def, pos, "#" + std::string(name), 0));
    d.defs.emplace(std::string(name), std::move(s));
  }
  return d;
}

// ---------- data model ----------

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Decoded length of a $bytes string; nullopt if it is not base64 (standard alphabet, optional
// padding). Trailing bits are not checked: reference implementations accept them.
std::optional<size_t> Base64DecodedLength(std::string_view s) {
  size_t end = s.size();
  while (end > 0 && s[end - 1] == '=' && s.size() - end < 2) --end;
  for (size_t i = 0; i < end; ++i) {
    if (!IsBase64Char(s[i])) return std::nullopt;
  }
  if (end % 4 == 1) return std::nullopt;
  return end * 3 / 4;
}

bool IsLinkObject(const json::object& o) { return o.contains("$link"); }
bool IsBytesObject(const json::object& o) { return o.contains("$bytes"); }

Status CheckLinkObject(const json::object& o, const std::string& path) {
  if (o.size() != 1) return InvalidArgument(path + ": $link object has extra keys");
  const json::value& l = o.at("$link");
  if (!l.is_string()) return InvalidArgument(path + ": $link must be a string");
  if (!cbor::Cid::Parse(l.get_string()).ok()) {
    return InvalidArgument(path + ": $link is not a valid CID");
  }
  return Ok();
}

Status CheckBytesObject(const json::object& o, const std::string& path) {
  if (o.size() != 1) return InvalidArgument(path + ": $bytes object has extra keys");
  const json::value& b = o.at("$bytes");
  if (!b.is_string() || !Base64DecodedLength(b.get_string())) {
    return InvalidArgument(path + ": $bytes must be a base64 string");
  }
  return Ok();
}

Status CheckDataModel(const json::value& v, std::string& path, size_t depth) {
  if (depth > kMaxDepth) return InvalidArgument(path + ": nested deeper than 64");
  switch (v.kind()) {
    case json::kind::double_:
      if (!JsonInt(v)) return InvalidArgument(path + ": floats are not allowed");
      return Ok();
    case json::kind::uint64:
      if (!JsonInt(v)) return InvalidArgument(path + ": integer out of int64 range");
      return Ok();
    case json::kind::array: {
      size_t i = 0;
      for (const auto& e : v.get_array()) {
        size_t len = path.size();
        path += "[" + std::to_string(i++) + "]";
        ATCR_TRY(CheckDataModel(e, path, depth + 1));
        path.resize(len);
      }
      return Ok();
    }
    case json::kind::object: {
      const json::object& o = v.get_object();
      if (IsLinkObject(o)) return CheckLinkObject(o, path);
      if (IsBytesObject(o)) return CheckBytesObject(o, path);
      if (const json::value* t = o.if_contains("$type")) {
        if (!t->is_string() || t->get_string().empty()) {
          return InvalidArgument(path + ": $type must be a non-empty string");
        }
        if (t->get_string() == "blob") {
          const json::value* ref = o.if_contains("ref");
          const json::value* mime = o.if_contains("mimeType");
          const json::value* size = o.if_contains("size");
          if (ref == nullptr || !ref->is_object() || !IsLinkObject(ref->get_object())) {
            return InvalidArgument(path + ": blob needs a ref link");
          }
          ATCR_TRY(CheckLinkObject(ref->get_object(), path + ".ref"));
          if (mime == nullptr || !mime->is_string()) {
            return InvalidArgument(path + ": blob needs a mimeType string");
          }
          if (size == nullptr || !JsonInt(*size)) {
            return InvalidArgument(path + ": blob needs an integer size");
          }
          return Ok();
        }
      }
      for (const auto& [key, child] : o) {
        size_t len = path.size();
        path += "." + std::string(key);
        ATCR_TRY(CheckDataModel(child, path, depth + 1));
        path.resize(len);
      }
      return Ok();
    }
    default:
      return Ok();
  }
}

// ---------- validation ----------

bool MimeMatches(std::string_view pattern, std::string_view mime) {
  if (pattern == "*/*" || pattern == "*") return true;
  if (pattern.ends_with("/*")) return mime.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == mime;
}

std::string NormalizeType(std::string_view t) {
  if (t.find('#') == std::string_view::npos) return std::string(t) + "#main";
  return std::string(t);
}

}  // namespace

struct LexiconCatalog::Impl {
  std::map<std::string, Document, std::less<>> docs;

  const Schema* Resolve(std::string_view qualified) const {
    size_t hash = qualified.find('#');
    std::string_view nsid = qualified.substr(0, hash);
    std::string_view name = hash == std::string_view::npos ? "main" : qualified.substr(hash + 1);
    auto d = docs.find(nsid);
    if (d == docs.end()) return nullptr;
    auto s = d->second.defs.find(name);
    return s == d->second.defs.end() ? nullptr : s->second.get();
  }

  Status Validate(const Schema& s, const json::value& v, std::string& path, size_t depth,
                  std::string_view self_ref = {}) const;
  Status ValidateObject(const Schema& s, const json::value& v, std::string& path,
                        size_t depth) const;
  Status ValidateString(const Schema& s, const json::value& v, const std::string& path) const;
  Status ValidateResolved(std::string_view ref, const json::value& v, std::string& path,
                          size_t depth) const;
};

namespace {
Error At(const std::string& path, const std::string& why) {
  return InvalidArgument(path + ": " + why);
}

Status CheckFormat(Format f, std::string_view s) {
  switch (f) {
    case Format::kNone:
      return Ok();
    case Format::kAtIdentifier:
      return ValidateAtIdentifier(s);
    case Format::kAtUri:
      return ValidateAtUri(s);
    case Format::kCid:
      ATCR_TRY(ValidateCidSyntax(s));
      if (!cbor::Cid::Parse(s).ok()) return InvalidArgument("not a valid CID");
      return Ok();
    case Format::kDatetime:
      return ValidateDatetime(s);
    case Format::kDid:
      return ValidateDid(s);
    case Format::kHandle:
      return ValidateHandle(s);
    case Format::kNsid:
      return ValidateNsid(s);
    case Format::kTid:
      return ValidateTid(s);
    case Format::kRecordKey:
      return ValidateRecordKey(s);
    case Format::kUri:
      return ValidateUri(s);
    case Format::kLanguage:
      return ValidateLanguage(s);
  }
  return Ok();
}
}  // namespace

Status LexiconCatalog::Impl::ValidateString(const Schema& s, const json::value& v,
                                            const std::string& path) const {
  if (!v.is_string()) return At(path, "expected a string");
  std::string_view str = v.get_string();
  if (s.const_string && str != *s.const_string) {
    return At(path, "must equal \"" + *s.const_string + "\"");
  }
  if (s.string_enum &&
      std::find(s.string_enum->begin(), s.string_enum->end(), str) == s.string_enum->end()) {
    return At(path, "value not in enum");
  }
  if (s.max_length && str.size() > *s.max_length) {
    return At(path, "longer than maxLength " + std::to_string(*s.max_length) + " bytes");
  }
  if (s.min_length && str.size() < *s.min_length) {
    return At(path, "shorter than minLength " + std::to_string(*s.min_length) + " bytes");
  }
  if (s.max_graphemes || s.min_graphemes) {
    // Grapheme count <= byte count, so long strings need not be counted for a lower bound.
    size_t g = CountGraphemes(str);
    if (s.max_graphemes && g > *s.max_graphemes) {
      return At(path, "more than maxGraphemes " + std::to_string(*s.max_graphemes));
    }
    if (s.min_graphemes && g < *s.min_graphemes) {
      return At(path, "fewer than minGraphemes " + std::to_string(*s.min_graphemes));
    }
  }
  if (auto st = CheckFormat(s.format, str); !st.ok()) return At(path, st.error().message);
  return Ok();
}

Status LexiconCatalog::Impl::ValidateObject(const Schema& s, const json::value& v,
                                            std::string& path, size_t depth) const {
  if (!v.is_object()) return At(path, "expected an object");
  const json::object& o = v.get_object();
  for (const auto& name : s.required) {
    if (!o.contains(name)) return At(path, "missing required field \"" + name + "\"");
  }
  for (const auto& [name, prop] : s.properties) {
    const json::value* field = o.if_contains(name);
    if (field == nullptr) continue;
    size_t len = path.size();
    path += "." + name;
    if (field->is_null()) {
      if (!s.nullable.contains(name)) return At(path, "must not be null");
    } else {
      ATCR_TRY(Validate(*prop, *field, path, depth + 1));
    }
    path.resize(len);
  }
  return Ok();
}

Status LexiconCatalog::Impl::ValidateResolved(std::string_view ref, const json::value& v,
                                              std::string& path, size_t depth) const {
  const Schema* target = Resolve(ref);
  if (target == nullptr) return At(path, "unresolved lexicon reference " + std::string(ref));
  if (target->kind == Kind::kRecord) return ValidateObject(*target->record, v, path, depth + 1);
  return Validate(*target, v, path, depth + 1, ref);
}

Status LexiconCatalog::Impl::Validate(const Schema& s, const json::value& v, std::string& path,
                                      size_t depth, std::string_view self_ref) const {
  if (depth > kMaxDepth) return At(path, "nested deeper than 64");
  switch (s.kind) {
    case Kind::kNull:
      if (!v.is_null()) return At(path, "expected null");
      return Ok();
    case Kind::kBoolean:
      if (!v.is_bool()) return At(path, "expected a boolean");
      if (s.const_bool && v.get_bool() != *s.const_bool) return At(path, "wrong const value");
      return Ok();
    case Kind::kInteger: {
      auto i = JsonInt(v);
      if (!i) return At(path, "expected an integer");
      if (s.const_int && *i != *s.const_int) {
        return At(path, "must equal " + std::to_string(*s.const_int));
      }
      if (s.int_enum && std::find(s.int_enum->begin(), s.int_enum->end(), *i) == s.int_enum->end()) {
        return At(path, "value not in enum");
      }
      if (s.minimum && *i < *s.minimum) {
        return At(path, "less than minimum " + std::to_string(*s.minimum));
      }
      if (s.maximum && *i > *s.maximum) {
        return At(path, "greater than maximum " + std::to_string(*s.maximum));
      }
      return Ok();
    }
    case Kind::kString:
      return ValidateString(s, v, path);
    case Kind::kBytes: {
      if (!v.is_object() || !IsBytesObject(v.get_object())) return At(path, "expected bytes");
      ATCR_TRY(CheckBytesObject(v.get_object(), path));
      size_t n = *Base64DecodedLength(v.get_object().at("$bytes").get_string());
      if (s.max_length && n > *s.max_length) {
        return At(path, "more than maxLength " + std::to_string(*s.max_length) + " bytes");
      }
      if (s.min_length && n < *s.min_length) {
        return At(path, "fewer than minLength " + std::to_string(*s.min_length) + " bytes");
      }
      return Ok();
    }
    case Kind::kCidLink:
      if (!v.is_object() || !IsLinkObject(v.get_object())) return At(path, "expected a link");
      return CheckLinkObject(v.get_object(), path);
    case Kind::kBlob: {
      if (!v.is_object()) return At(path, "expected a blob");
      const json::object& o = v.get_object();
      const json::value* type = o.if_contains("$type");
      const json::value* mime = o.if_contains("mimeType");
      if (mime == nullptr || !mime->is_string()) return At(path, "blob needs a mimeType string");
      std::optional<int64_t> size;
      if (type == nullptr && o.contains("cid")) {
        // Legacy blob ref {cid, mimeType}: read-only form, no size.
        const json::value* cid = o.if_contains("cid");
        if (!cid->is_string() || !cbor::Cid::Parse(cid->get_string()).ok()) {
          return At(path, "legacy blob cid is not a valid CID");
        }
      } else {
        if (type == nullptr || !type->is_string() || type->get_string() != "blob") {
          return At(path, "expected $type \"blob\"");
        }
        const json::value* ref = o.if_contains("ref");
        if (ref == nullptr || !ref->is_object() || !IsLinkObject(ref->get_object())) {
          return At(path, "blob needs a ref link");
        }
        ATCR_TRY(CheckLinkObject(ref->get_object(), path + ".ref"));
        const json::value* sz = o.if_contains("size");
        size = sz ? JsonInt(*sz) : std::nullopt;
        if (!size || *size < 0) return At(path, "blob needs a non-negative integer size");
      }
      std::string_view m = mime->get_string();
      if (s.accept && std::none_of(s.accept->begin(), s.accept->end(),
                                   [&](const std::string& p) { return MimeMatches(p, m); })) {
        return At(path, "blob mimeType \"" + std::string(m) + "\" not accepted");
      }
      if (s.max_size && size && static_cast<uint64_t>(*size) > *s.max_size) {
        return At(path, "blob larger than maxSize " + std::to_string(*s.max_size));
      }
      return Ok();
    }
    case Kind::kArray: {
      if (!v.is_array()) return At(path, "expected an array");
      const json::array& a = v.get_array();
      if (s.max_length && a.size() > *s.max_length) {
        return At(path, "more than maxLength " + std::to_string(*s.max_length) + " items");
      }
      if (s.min_length && a.size() < *s.min_length) {
        return At(path, "fewer than minLength " + std::to_string(*s.min_length) + " items");
      }
      for (size_t i = 0; i < a.size(); ++i) {
        size_t len = path.size();
        path += "[" + std::to_string(i) + "]";
        ATCR_TRY(Validate(*s.items, a[i], path, depth + 1));
        path.resize(len);
      }
      return Ok();
    }
    case Kind::kObject:
    case Kind::kParams:
      return ValidateObject(s, v, path, depth);
    case Kind::kRef:
      return ValidateResolved(s.ref, v, path, depth);
    case Kind::kUnion: {
      if (!v.is_object()) return At(path, "expected an object with $type (union)");
      const json::value* t = v.get_object().if_contains("$type");
      if (t == nullptr || !t->is_string() || t->get_string().empty()) {
        return At(path, "union member needs a $type");
      }
      std::string type = NormalizeType(t->get_string());
      if (std::find(s.refs.begin(), s.refs.end(), type) == s.refs.end()) {
        if (s.closed) {
          return At(path, "$type " + std::string(t->get_string()) + " not in closed union");
        }
        return Ok();  // open union: unknown types pass
      }
      return ValidateResolved(type, v, path, depth);
    }
    case Kind::kUnknown: {
      if (!v.is_object()) return At(path, "unknown-typed data must be an object");
      const json::object& o = v.get_object();
      if (IsBytesObject(o) || IsLinkObject(o)) return At(path, "unknown-typed data must be an object");
      const json::value* t = o.if_contains("$type");
      if (t && t->is_string() && t->get_string() == "blob") {
        return At(path, "unknown-typed data must not be a blob");
      }
      return Ok();
    }
    case Kind::kToken:
      if (!v.is_string() || v.get_string() != self_ref) {
        return At(path, "expected token " + std::string(self_ref));
      }
      return Ok();
    case Kind::kRecord:
      return ValidateObject(*s.record, v, path, depth);
    case Kind::kQuery:
    case Kind::kProcedure:
    case Kind::kSubscription:
    case Kind::kPermissionSet:
      return At(path, "cannot validate data against a " + std::string(NameOf(s.kind)));
  }
  return Ok();
}

LexiconCatalog::LexiconCatalog() : impl_(std::make_unique<Impl>()) {}
LexiconCatalog::~LexiconCatalog() = default;
LexiconCatalog::LexiconCatalog(LexiconCatalog&&) noexcept = default;
LexiconCatalog& LexiconCatalog::operator=(LexiconCatalog&&) noexcept = default;

Status LexiconCatalog::Add(const json::value& doc) {
  ATCR_ASSIGN_OR_RETURN(Document d, ParseDocument(doc));
  if (impl_->docs.contains(d.id)) {
    return Error(ErrorCode::kAlreadyExists, "lexicon " + d.id + " is already loaded");
  }
  std::string id = d.id;
  impl_->docs.emplace(std::move(id), std::move(d));
  return Ok();
}

Status LexiconCatalog::AddText(std::string_view text) {
  if (text.size() > kMaxLexiconBytes) return ResourceExhausted("lexicon document over 1 MiB");
  json::parse_options opts;
  opts.max_depth = 128;
  std::error_code ec;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) return InvalidArgument("lexicon document is not JSON: " + ec.message());
  return Add(v);
}

Status LexiconCatalog::AddBuiltinAtcr() {
  for (const auto& lex : internal::BuiltinLexiconFiles()) {
    if (auto st = AddText(lex.json); !st.ok()) {
      return Internal(std::string(lex.path) + ": " + st.error().message);
    }
  }
  return Ok();
}

bool LexiconCatalog::Contains(std::string_view nsid) const { return impl_->docs.contains(nsid); }

std::vector<std::string> LexiconCatalog::Ids() const {
  std::vector<std::string> out;
  for (const auto& [id, _] : impl_->docs) out.push_back(id);
  return out;
}

Result<std::string> LexiconCatalog::MainType(std::string_view nsid) const {
  const Schema* s = impl_->Resolve(std::string(nsid) + "#main");
  if (s == nullptr) return NotFound("no lexicon main definition for " + std::string(nsid));
  return std::string(NameOf(s->kind));
}

Status LexiconCatalog::ValidateRecord(std::string_view collection, const json::value& record,
                                      std::string_view rkey) const {
  const Schema* main = impl_->Resolve(std::string(collection) + "#main");
  if (main == nullptr) {
    return NotFound("no lexicon for collection " + std::string(collection));
  }
  if (main->kind != Kind::kRecord) {
    return InvalidArgument(std::string(collection) + " is not a record type");
  }
  if (!record.is_object()) return InvalidArgument("record must be an object");
  const json::value* type = record.get_object().if_contains("$type");
  if (type == nullptr || !type->is_string()) return InvalidArgument("record has no $type");
  if (type->get_string() != collection) {
    return InvalidArgument("invalid $type: expected " + std::string(collection) + ", got " +
                           std::string(type->get_string()));
  }
  if (!rkey.empty()) {
    ATCR_TRY(ValidateRecordKey(rkey));
    const std::string& key = main->key;
    if (key == "tid") {
      ATCR_TRY(ValidateTid(rkey));
    } else if (key == "nsid") {
      ATCR_TRY(ValidateNsid(rkey));
    } else if (key.starts_with("literal:") && rkey != std::string_view(key).substr(8)) {
      return InvalidArgument("record key must be \"" + key.substr(8) + "\"");
    }
  }
  std::string path = "$";
  ATCR_TRY(CheckDataModel(record, path, 0));
  return impl_->ValidateObject(*main->record, record, path, 0);
}

Status LexiconCatalog::ValidateRecord(std::string_view collection, const cbor::Value& record,
                                      std::string_view rkey) const {
  return ValidateRecord(collection, cbor::ToJson(record), rkey);
}

Status LexiconCatalog::ValidateInput(std::string_view method, const json::value& body) const {
  const Schema* m = impl_->Resolve(std::string(method) + "#main");
  if (m == nullptr || m->kind != Kind::kProcedure) {
    return NotFound("no procedure lexicon for " + std::string(method));
  }
  if (!m->input || !m->input->schema) return Ok();
  std::string path = "input";
  return impl_->Validate(*m->input->schema, body, path, 0);
}

Status LexiconCatalog::ValidateOutput(std::string_view method, const json::value& body) const {
  const Schema* m = impl_->Resolve(std::string(method) + "#main");
  if (m == nullptr || (m->kind != Kind::kProcedure && m->kind != Kind::kQuery)) {
    return NotFound("no query or procedure lexicon for " + std::string(method));
  }
  if (!m->output || !m->output->schema) return Ok();
  std::string path = "output";
  return impl_->Validate(*m->output->schema, body, path, 0);
}

Status LexiconCatalog::ValidateParams(std::string_view method, const json::object& params) const {
  const Schema* m = impl_->Resolve(std::string(method) + "#main");
  if (m == nullptr || (m->kind != Kind::kProcedure && m->kind != Kind::kQuery &&
                       m->kind != Kind::kSubscription)) {
    return NotFound("no XRPC lexicon for " + std::string(method));
  }
  if (!m->parameters) return Ok();
  std::string path = "params";
  return impl_->ValidateObject(*m->parameters, json::value(params), path, 0);
}

Result<json::object> LexiconCatalog::ParseParams(
    std::string_view method, std::span<const std::pair<std::string, std::string>> query) const {
  const Schema* m = impl_->Resolve(std::string(method) + "#main");
  if (m == nullptr || (m->kind != Kind::kProcedure && m->kind != Kind::kQuery &&
                       m->kind != Kind::kSubscription)) {
    return NotFound("no XRPC lexicon for " + std::string(method));
  }
  json::object out;
  auto coerce = [](const Schema& s, const std::string& name,
                   const std::string& raw) -> Result<json::value> {
    switch (s.kind) {
      case Kind::kBoolean:
        if (raw == "true") return json::value(true);
        if (raw == "false") return json::value(false);
        return InvalidArgument("params." + name + ": expected true or false");
      case Kind::kInteger: {
        int64_t v = 0;
        auto [ptr, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
        if (ec != std::errc() || ptr != raw.data() + raw.size()) {
          return InvalidArgument("params." + name + ": expected an integer");
        }
        return json::value(v);
      }
      default:
        return json::value(json::string(raw));
    }
  };
  for (const auto& [name, raw] : query) {
    const Schema* prop = nullptr;
    if (m->parameters) {
      auto it = m->parameters->properties.find(name);
      if (it != m->parameters->properties.end()) prop = it->second.get();
    }
    if (prop == nullptr) {
      out[name] = json::string(raw);
    } else if (prop->kind == Kind::kArray) {
      ATCR_ASSIGN_OR_RETURN(json::value item, coerce(*prop->items, name, raw));
      json::value& slot = out[name];
      if (!slot.is_array()) slot = json::array();
      slot.as_array().push_back(std::move(item));
    } else {
      if (out.contains(name)) return InvalidArgument("params." + name + ": given more than once");
      ATCR_ASSIGN_OR_RETURN(out[name], coerce(*prop, name, raw));
    }
  }
  ATCR_TRY(ValidateParams(method, out));
  return out;
}

Status LexiconCatalog::ValidateValue(std::string_view ref, const json::value& value) const {
  std::string q = NormalizeType(ref);
  std::string path = "$";
  return impl_->ValidateResolved(q, value, path, 0);
}

Status ValidateJsonDataModel(const json::value& value) {
  if (!value.is_object()) return InvalidArgument("$: top level must be an object");
  std::string path = "$";
  return CheckDataModel(value, path, 0);
}

}  // namespace atcr::atproto
