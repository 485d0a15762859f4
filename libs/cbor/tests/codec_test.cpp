#include "atcr/cbor/codec.h"

#include <gtest/gtest.h>

namespace atcr::cbor {
namespace {

TEST(Codec, EmptyMstNodeEncodesToKnownBytes) {
  Value::Map m;
  m["e"] = Value::EmptyList();
  m["l"] = nullptr;
  Bytes b = Encode(Value(std::move(m)));
  EXPECT_EQ(HexEncode(b), "a2616580616cf6");
}

}  // namespace
}  // namespace atcr::cbor
