// Password hashing for accounts and app passwords, in the reference PDS's stored format so
// hashes are interchangeable with it: "<salt>:<hex of scrypt(password, salt, N=16384, r=8,
// p=1, 64 bytes)>", salt = 32 hex characters used as text. Account passwords get a random
// salt; app passwords a salt derived from the DID (so a login hashes once and compares with
// each of the account's app passwords). Each hash costs ~16 MiB and tens of milliseconds:
// call from the blocking pool. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "atcr/base/result.h"

namespace atcr::pds::internal {

// Maximum lengths the reference enforces: new passwords / passwords accepted at login.
inline constexpr size_t kNewPasswordMaxLength = 256;
inline constexpr size_t kOldPasswordMaxLength = 512;

// scrypt with the reference's parameters; hex of the 64-byte key.
Result<std::string> ScryptHex(std::string_view password, std::string_view salt);
// "<salt>:<hash>" with a fresh random salt.
Result<std::string> HashAccountPassword(std::string_view password);
// "<salt>:<hash>" with salt = hex(sha256(did)[0:16]).
Result<std::string> HashAppPassword(std::string_view did, std::string_view password);
// Recomputes the hash with the stored salt and compares in constant time. A malformed stored
// hash never verifies.
bool VerifyPasswordHash(std::string_view password, std::string_view stored);
// Constant-time equality of two strings (length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// "xxxx-xxxx-xxxx-xxxx" of the lowercase base32 alphabet (a-z, 2-7), 80 random bits.
std::string GenerateAppPassword();
// "<host with . as ->-xxxxx-xxxxx" (the reference's invite code form).
std::string GenerateInviteCode(std::string_view hostname);

}  // namespace atcr::pds::internal
