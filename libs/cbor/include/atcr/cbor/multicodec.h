// Multicodec codes atcr understands (https://github.com/multiformats/multicodec).
#pragma once

#include <cstdint>

namespace atcr::cbor::multicodec {

inline constexpr uint64_t kRaw = 0x55;           // raw bytes (blobs)
inline constexpr uint64_t kDagCbor = 0x71;       // DAG-CBOR (records, commits, MST nodes)
inline constexpr uint64_t kSha2_256 = 0x12;      // multihash function code
inline constexpr uint64_t kSecp256k1Pub = 0xe7;  // compressed K-256 public key
inline constexpr uint64_t kP256Pub = 0x1200;     // compressed P-256 public key

}  // namespace atcr::cbor::multicodec
