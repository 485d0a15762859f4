#include "atcr/identity/did_document.h"

#include <boost/json.hpp>

#include "atcr/atproto/syntax.h"
#include "atcr/crypto/keys.h"

namespace atcr::identity {
namespace {

namespace json = boost::json;

constexpr size_t kMaxDocumentBytes = 64 * 1024;

std::string_view StringField(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  const auto& s = it->value().get_string();
  return {s.data(), s.size()};
}

// "#atproto" or "<did>#atproto" -> "atproto"; anything else (other DIDs) -> "".
std::string_view LocalFragment(std::string_view id, std::string_view did) {
  if (id.starts_with('#')) return id.substr(1);
  if (id.size() > did.size() && id.starts_with(did) && id[did.size()] == '#') {
    return id.substr(did.size() + 1);
  }
  return {};
}

Result<std::string> SigningKeyFrom(const json::object& vm, std::string_view did) {
  std::string_view type = StringField(vm, "type");
  std::string_view controller = StringField(vm, "controller");
  std::string_view multibase = StringField(vm, "publicKeyMultibase");
  if (!controller.empty() && controller != did) {
    return InvalidArgument("#atproto verification method has a foreign controller");
  }
  if (multibase.empty()) return InvalidArgument("#atproto key has no publicKeyMultibase");
  ATCR_ASSIGN_OR_RETURN(auto key, crypto::PublicKey::FromVerificationMethod(type, multibase));
  return key.DidKey();
}

}  // namespace

std::optional<std::string> DidDocument::ServiceEndpoint(std::string_view fragment) const {
  if (fragment == "atproto_pds" && !pds_endpoint.empty()) return pds_endpoint;
  for (const auto& [id, endpoint] : services) {
    if (id == fragment) return endpoint;
  }
  return std::nullopt;
}

Result<DidDocument> ParseDidDocument(std::string_view text, std::string_view expected_did) {
  if (text.size() > kMaxDocumentBytes) {
    return InvalidArgument("DID document larger than 64 KiB");
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value root = json::parse(text, ec, {}, opts);
  if (ec) return InvalidArgument("DID document is not valid JSON: " + ec.message());
  if (!root.is_object()) return InvalidArgument("DID document is not a JSON object");
  const auto& obj = root.get_object();
  DidDocument doc;
  doc.did = std::string(StringField(obj, "id"));
  if (doc.did.empty()) return InvalidArgument("DID document has no id");
  if (!expected_did.empty() && doc.did != expected_did) {
    return InvalidArgument("DID document id '" + doc.did + "' does not match '" +
                           std::string(expected_did) + "'");
  }
  ATCR_TRY(atproto::ValidateDid(doc.did));

  if (auto it = obj.find("alsoKnownAs"); it != obj.end() && it->value().is_array()) {
    for (const auto& v : it->value().get_array()) {
      if (!v.is_string()) continue;
      std::string aka(v.get_string());
      if (doc.handle.empty() && aka.starts_with("at://")) {
        std::string handle = aka.substr(5);
        if (atproto::ValidateHandle(handle).ok()) doc.handle = atproto::NormalizeHandle(handle);
      }
      doc.also_known_as.push_back(std::move(aka));
    }
  }

  if (auto it = obj.find("verificationMethod"); it != obj.end() && it->value().is_array()) {
    for (const auto& v : it->value().get_array()) {
      if (!v.is_object()) continue;
      const auto& vm = v.get_object();
      if (LocalFragment(StringField(vm, "id"), doc.did) != "atproto") continue;
      ATCR_ASSIGN_OR_RETURN(doc.signing_key, SigningKeyFrom(vm, doc.did));
      break;
    }
  }

  if (auto it = obj.find("service"); it != obj.end() && it->value().is_array()) {
    for (const auto& v : it->value().get_array()) {
      if (!v.is_object()) continue;
      const auto& svc = v.get_object();
      std::string_view fragment = LocalFragment(StringField(svc, "id"), doc.did);
      std::string_view endpoint = StringField(svc, "serviceEndpoint");
      if (fragment.empty() || endpoint.empty()) continue;
      if (fragment == "atproto_pds") {
        if (doc.pds_endpoint.empty() && StringField(svc, "type") == "AtprotoPersonalDataServer") {
          doc.pds_endpoint = std::string(endpoint);
        }
        continue;
      }
      doc.services.emplace_back(std::string(fragment), std::string(endpoint));
    }
  }
  return doc;
}

}  // namespace atcr::identity
