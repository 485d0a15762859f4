// `atcr tool key gen|pub`, `sig verify|sign`, `jwt verify|sign`: K-256 / P-256 keys, compact
// low-S signatures and inter-service JWTs. Wiring over atcr::crypto (+ identity for `jwt verify`
// without --key).
#include <cstdio>
#include <memory>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "atcr/base/time.h"
#include "atcr/crypto/jwt.h"
#include "atcr/crypto/keys.h"
#include "tool_common.h"

namespace atcr::app::tool {
namespace {

Result<crypto::PrivateKey> ParsePrivateKey(const std::string& type_name, const std::string& hex) {
  ATCR_ASSIGN_OR_RETURN(crypto::KeyType type, crypto::ParseKeyType(type_name));
  auto key = crypto::PrivateKey::FromHex(type, hex);
  if (!key.ok()) return InvalidArgument("bad private key: " + key.error().message);
  return key;
}

void AddKey(CLI::App& tool, int* exit_code) {
  auto* group = tool.add_subcommand("key", "K-256 / P-256 keys");
  group->require_subcommand(1);

  struct GenFlags {
    std::string type;
    bool json = false;
  };
  auto gen_flags = std::make_shared<GenFlags>();
  auto* gen = group->add_subcommand(
      "gen", "new private key: prints its hex (line 1) and its did:key (line 2)");
  gen->add_option("TYPE", gen_flags->type, "k256 or p256")
      ->required()
      ->check(CLI::IsMember({"k256", "p256"}));
  gen->add_flag("--json", gen_flags->json, "print {type, private_key_hex, did_key, multikey}");
  gen->callback([gen_flags, exit_code] {
    Run("key gen", exit_code, [&] {
      auto type = crypto::ParseKeyType(gen_flags->type);
      if (!type.ok()) return Fail("key gen", type.error(), kExitUsage);
      crypto::PrivateKey key = crypto::PrivateKey::Generate(*type);
      std::string hex = HexEncode(key.secret_bytes());
      if (gen_flags->json) {
        boost::json::object o;
        o["type"] = crypto::KeyTypeName(key.type());
        o["private_key_hex"] = hex;
        o["did_key"] = key.public_key().DidKey();
        o["multikey"] = key.public_key().Multikey();
        std::printf("%s\n", boost::json::serialize(o).c_str());
      } else {
        std::printf("%s\n%s\n", hex.c_str(), key.public_key().DidKey().c_str());
      }
      return kExitOk;
    });
  });

  struct PubFlags {
    std::string hex;
    std::string type = "k256";
  };
  auto pub_flags = std::make_shared<PubFlags>();
  auto* pub = group->add_subcommand("pub", "did:key of a private key");
  pub->add_option("PRIVHEX", pub_flags->hex, "private key, 64 hex characters")->required();
  pub->add_option("--type", pub_flags->type, "k256 (default) or p256");
  pub->callback([pub_flags, exit_code] {
    Run("key pub", exit_code, [&] {
      auto key = ParsePrivateKey(pub_flags->type, pub_flags->hex);
      if (!key.ok()) return Fail("key pub", key.error(), kExitInvalid);
      std::printf("%s\n", key->public_key().DidKey().c_str());
      return kExitOk;
    });
  });
}

void AddSig(CLI::App& tool, int* exit_code) {
  auto* group = tool.add_subcommand("sig", "ECDSA signatures (sha-256, 64-byte r||s, low-S)");
  group->require_subcommand(1);

  struct VerifyFlags {
    std::string did_key;
    std::string message;
    std::string signature;
  };
  auto vflags = std::make_shared<VerifyFlags>();
  auto* verify = group->add_subcommand(
      "verify", "check a signature: exit 0 valid, 1 invalid (high-S and DER are invalid)");
  verify->add_option("DIDKEY", vflags->did_key, "did:key:z... of the signer")->required();
  verify->add_option("MSG_B64", vflags->message, "the signed message, base64")->required();
  verify->add_option("SIG_B64", vflags->signature, "the signature, base64")->required();
  verify->callback([vflags, exit_code] {
    Run("sig verify", exit_code, [&] {
      auto key = crypto::PublicKey::FromDidKey(vflags->did_key);
      if (!key.ok()) return Fail("sig verify", "bad did:key: " + key.error().message, kExitUsage);
      auto msg = DecodeBase64Loose(vflags->message);
      if (!msg.ok()) return Fail("sig verify", "message is not base64: " + msg.error().message, kExitUsage);
      auto sig = DecodeBase64Loose(vflags->signature);
      if (!sig.ok()) {
        return Fail("sig verify", "invalid: signature is not base64: " + sig.error().message,
                    kExitInvalid);
      }
      Status s = key->Verify(*msg, *sig);
      if (!s.ok()) return Fail("sig verify", "invalid: " + s.error().message, kExitInvalid);
      std::printf("valid\n");
      return kExitOk;
    });
  });

  struct SignFlags {
    std::string hex;
    std::string message;
    std::string type = "k256";
    bool url = false;
  };
  auto sflags = std::make_shared<SignFlags>();
  auto* sign = group->add_subcommand("sign", "sign a message: prints the signature (base64, unpadded)");
  sign->add_option("PRIVHEX", sflags->hex, "private key, 64 hex characters")->required();
  sign->add_option("MSG_B64", sflags->message, "the message, base64")->required();
  sign->add_option("--type", sflags->type, "k256 (default) or p256");
  sign->add_flag("--url", sflags->url, "print base64url instead of standard base64");
  sign->callback([sflags, exit_code] {
    Run("sig sign", exit_code, [&] {
      auto key = ParsePrivateKey(sflags->type, sflags->hex);
      if (!key.ok()) return Fail("sig sign", key.error(), kExitUsage);
      auto msg = DecodeBase64Loose(sflags->message);
      if (!msg.ok()) return Fail("sig sign", "message is not base64: " + msg.error().message, kExitUsage);
      Bytes sig = key->Sign(*msg);
      std::printf("%s\n", Base64Encode(sig, sflags->url ? Base64Variant::kUrl : Base64Variant::kStandard,
                                       /*pad=*/false)
                              .c_str());
      return kExitOk;
    });
  });
}

void AddJwt(CLI::App& tool, int* exit_code) {
  auto* group = tool.add_subcommand("jwt", "inter-service JWTs (ES256K / ES256)");
  group->require_subcommand(1);

  struct VerifyFlags {
    std::string token;
    std::string key;
    std::string aud;
    std::string lxm;
    std::string iss;
    bool json = false;
    ResolveFlags resolve;
  };
  auto vflags = std::make_shared<VerifyFlags>();
  auto* verify = group->add_subcommand(
      "verify", "verify a service JWT with --key, or with the #atproto key of its iss DID");
  verify->add_option("TOKEN", vflags->token, "the JWT, or - for stdin")->required();
  verify->add_option("--key", vflags->key, "did:key of the signer (default: resolve the iss DID)");
  verify->add_option("--aud", vflags->aud, "required audience");
  verify->add_option("--lxm", vflags->lxm, "required lexicon method");
  verify->add_option("--iss", vflags->iss, "required issuer DID");
  verify->add_flag("--json", vflags->json, "print {header, claims} as JSON");
  vflags->resolve.Add(verify);
  verify->callback([vflags, exit_code] {
    Run("jwt verify", exit_code, [&] {
      std::string token = vflags->token;
      if (token == "-") {
        auto in = ReadInput("-", crypto::kMaxJwtSize + 16);
        if (!in.ok()) return Fail("jwt verify", in.error(), kExitUsage);
        token.assign(AsString(*in));
      }
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
        token.pop_back();
      }
      auto jwt = crypto::ParseJwt(token);
      if (!jwt.ok()) return Fail("jwt verify", "invalid: " + jwt.error().message, kExitInvalid);
      if (!vflags->iss.empty() && jwt->issuer_did() != vflags->iss) {
        return Fail("jwt verify", "invalid: iss is " + jwt->iss() + ", expected " + vflags->iss,
                    kExitInvalid);
      }
      Result<crypto::PublicKey> key = Error(ErrorCode::kInternal, "no key");
      if (!vflags->key.empty()) {
        key = crypto::PublicKey::FromDidKey(vflags->key);
        if (!key.ok()) return Fail("jwt verify", "bad --key: " + key.error().message, kExitUsage);
      } else {
        std::string iss = jwt->issuer_did();
        if (iss.empty()) return Fail("jwt verify", "invalid: token has no iss claim", kExitInvalid);
        key = ResolveSigningKey(vflags->resolve, iss);
        if (!key.ok()) {
          return Fail("jwt verify", "cannot get the signing key of " + iss + ": " +
                                        key.error().message,
                      kExitUsage);
        }
      }
      crypto::JwtVerifyOptions options;
      options.audience = vflags->aud;
      options.lxm = vflags->lxm;
      Status s = crypto::VerifyJwt(*jwt, *key, options);
      if (!s.ok()) {
        std::string why = s.error().message;
        if (!s.error().wire.empty()) why = s.error().wire + ": " + why;
        return Fail("jwt verify", "invalid: " + why, kExitInvalid);
      }
      if (vflags->json) {
        boost::json::object o;
        o["valid"] = true;
        o["header"] = jwt->header();
        o["claims"] = jwt->claims();
        o["key"] = key->DidKey();
        std::printf("%s\n", boost::json::serialize(o).c_str());
      } else {
        std::printf("alg %s\niss %s\naud %s\n", jwt->alg().c_str(), jwt->iss().c_str(),
                    jwt->aud().c_str());
        if (!jwt->lxm().empty()) std::printf("lxm %s\n", jwt->lxm().c_str());
        if (jwt->exp()) std::printf("exp %lld\n", static_cast<long long>(*jwt->exp()));
        std::printf("key %s\n", key->DidKey().c_str());
      }
      return kExitOk;
    });
  });

  struct SignFlags {
    std::string hex;
    std::string type = "k256";
    std::string iss;
    std::string aud;
    std::string lxm;
    std::string exp = "+60";
  };
  auto sflags = std::make_shared<SignFlags>();
  auto* sign = group->add_subcommand(
      "sign", "mint a service JWT (claims iat, iss, aud, exp, lxm, jti) as a PDS does");
  sign->add_option("PRIVHEX", sflags->hex, "private key, 64 hex characters")->required();
  sign->add_option("--type", sflags->type, "k256 (ES256K, default) or p256 (ES256)");
  sign->add_option("--iss", sflags->iss, "issuer DID")->required();
  sign->add_option("--aud", sflags->aud, "audience (a DID, optionally with #service)")->required();
  sign->add_option("--lxm", sflags->lxm, "lexicon method NSID");
  sign->add_option("--exp", sflags->exp, "expiry: unix seconds, or +N for now + N (default +60)");
  sign->callback([sflags, exit_code] {
    Run("jwt sign", exit_code, [&] {
      auto key = ParsePrivateKey(sflags->type, sflags->hex);
      if (!key.ok()) return Fail("jwt sign", key.error(), kExitUsage);
      int64_t now = UnixSeconds();
      int64_t ttl = 0;
      try {
        size_t used = 0;
        const std::string& e = sflags->exp;
        bool relative = !e.empty() && e.front() == '+';
        long long v = std::stoll(relative ? e.substr(1) : e, &used);
        if (used != e.size() - (relative ? 1 : 0)) throw std::invalid_argument("trailing");
        ttl = relative ? v : v - now;
      } catch (const std::exception&) {
        return Fail("jwt sign", "--exp must be unix seconds or +N", kExitUsage);
      }
      crypto::ServiceAuthRequest req;
      req.iss = sflags->iss;
      req.aud = sflags->aud;
      req.lxm = sflags->lxm;
      req.ttl_seconds = ttl;
      req.now = now;
      std::printf("%s\n", crypto::SignServiceAuthJwt(*key, req).c_str());
      return kExitOk;
    });
  });
}

}  // namespace

void AddKeyCommands(CLI::App& tool, int* exit_code) {
  AddKey(tool, exit_code);
  AddSig(tool, exit_code);
  AddJwt(tool, exit_code);
}

}  // namespace atcr::app::tool
