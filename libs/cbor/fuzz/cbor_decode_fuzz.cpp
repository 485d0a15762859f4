// libFuzzer target: the strict DAG-CBOR decoder must never crash, hang or over-allocate, and
// whatever it accepts must be canonical (re-encoding gives back the exact input bytes).
// Build: cmake -DATCR_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...; run: cbor_decode_fuzz corpus/
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>

#include "atcr/cbor/codec.h"
#include "atcr/cbor/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  atcr::ByteSpan input(data, size);
  atcr::cbor::DecodeLimits limits;
  limits.max_items = 100000;
  auto v = atcr::cbor::Decode(input, limits);
  if (!v.ok()) return 0;
  atcr::Bytes again = atcr::cbor::Encode(*v);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  // JSON is lossy for maps that look like {"$link": ...} and for integral floats, so only
  // exercise the conversion; it must not crash.
  atcr::cbor::JsonLimits jl;
  jl.allow_floats = true;
  jl.max_depth = limits.max_depth + 1;
  (void)atcr::cbor::FromJson(atcr::cbor::ToJson(*v), jl);
  return 0;
}
