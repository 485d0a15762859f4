#include "atcr/atproto/car.h"

#include <gtest/gtest.h>

#include "atcr/cbor/codec.h"
#include "atcr/cbor/varint.h"

namespace atcr::atproto {
namespace {

using cbor::Cid;

std::vector<CarBlock> SampleBlocks(int n) {
  std::vector<CarBlock> out;
  for (int i = 0; i < n; ++i) {
    cbor::Value::Map m;
    m["i"] = int64_t{i};
    m["text"] = std::string(static_cast<size_t>(i * 7), 'x');
    Bytes b = cbor::Encode(cbor::Value(std::move(m)));
    out.push_back({Cid::ForDagCbor(b), b});
  }
  Bytes raw = {1, 2, 3};
  out.push_back({Cid::ForRaw(raw), raw});
  return out;
}

TEST(Car, WriteReadRoundTrip) {
  auto blocks = SampleBlocks(20);
  Bytes car = WriteCar({blocks[0].cid}, blocks);
  auto read = ReadCar(car);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->roots.size(), 1u);
  EXPECT_EQ(read->roots[0], blocks[0].cid);
  ASSERT_EQ(read->blocks.size(), blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_EQ(read->blocks[i].cid, blocks[i].cid);
    EXPECT_EQ(read->blocks[i].data, blocks[i].data);
  }
  // Header bytes as the reference writes them: a2 65 "roots" 81 d8 2a 58 25 ...
  EXPECT_EQ(HexEncode(ByteSpan(car).subspan(1, 12)), "a265726f6f747381d82a5825");
}

TEST(Car, StreamingByteByByte) {
  auto blocks = SampleBlocks(5);
  Bytes car = WriteCar({blocks[0].cid, blocks[1].cid}, blocks);
  CarReader r;
  size_t got = 0;
  for (uint8_t b : car) {
    ASSERT_TRUE(r.Feed(ByteSpan(&b, 1)).ok());
    while (auto blk = r.NextBlock()) {
      EXPECT_EQ(blk->cid, blocks[got].cid);
      ++got;
    }
  }
  ASSERT_TRUE(r.Finish().ok());
  EXPECT_EQ(got, blocks.size());
  EXPECT_EQ(r.roots().size(), 2u);
  EXPECT_EQ(r.bytes_read(), car.size());
}

TEST(Car, IntoStoreAndRootCount) {
  auto blocks = SampleBlocks(3);
  MemoryBlockStore store;
  auto roots = ReadCarIntoStore(WriteCar({blocks[1].cid}, blocks), &store);
  ASSERT_TRUE(roots.ok());
  EXPECT_EQ((*roots)[0], blocks[1].cid);
  EXPECT_EQ(store.size(), blocks.size());
  EXPECT_EQ(*store.Get(blocks[2].cid), blocks[2].data);
  MemoryBlockStore s2;
  EXPECT_FALSE(ReadCarIntoStore(WriteCar({}, blocks), &s2).ok());
  EXPECT_TRUE(ReadCarIntoStore(WriteCar({}, blocks), &s2, {}, false).ok());
}

TEST(Car, RejectsBadCid) {
  auto blocks = SampleBlocks(3);
  Bytes car = WriteCar({blocks[0].cid}, blocks);
  // Flip the last byte of the last block's data.
  car.back() ^= 0x01;
  auto r = ReadCar(car);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not match"), std::string::npos) << r.error().message;
  // A block listed under another block's CID.
  std::vector<CarBlock> swapped = {{blocks[0].cid, blocks[1].data}};
  EXPECT_FALSE(ReadCar(WriteCar({blocks[0].cid}, swapped)).ok());
}

TEST(Car, RejectsTruncation) {
  auto blocks = SampleBlocks(4);
  Bytes car = WriteCar({blocks[0].cid}, blocks);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{5}, car.size() / 2, car.size() - 1}) {
    Bytes part(car.begin(), car.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(ReadCar(part).ok()) << "cut at " << cut;
  }
}

TEST(Car, EnforcesLimits) {
  auto blocks = SampleBlocks(10);
  Bytes car = WriteCar({blocks[0].cid}, blocks);
  CarLimits small_block;
  small_block.max_block_bytes = 30;
  auto r = ReadCar(car, small_block);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  CarLimits few_blocks;
  few_blocks.max_blocks = 3;
  EXPECT_EQ(ReadCar(car, few_blocks).error().code, ErrorCode::kResourceExhausted);
  CarLimits small_total;
  small_total.max_total_bytes = car.size() - 1;
  EXPECT_EQ(ReadCar(car, small_total).error().code, ErrorCode::kResourceExhausted);
  // A frame that claims 1 GiB is refused at its length prefix, before any allocation.
  Bytes huge = WriteCar({blocks[0].cid}, std::vector<CarBlock>{});
  cbor::AppendVarint(uint64_t{1} << 30, huge);
  huge.push_back(0x01);
  EXPECT_EQ(ReadCar(huge).error().code, ErrorCode::kResourceExhausted);
}

TEST(Car, RejectsBadHeaders) {
  auto blocks = SampleBlocks(1);
  auto with_header = [&](cbor::Value header) {
    Bytes h = cbor::Encode(header);
    Bytes out;
    cbor::AppendVarint(h.size(), out);
    out.insert(out.end(), h.begin(), h.end());
    return out;
  };
  cbor::Value::Map v2;
  v2["roots"] = cbor::Value(cbor::Value::List{cbor::Value(blocks[0].cid)});
  v2["version"] = 2;
  EXPECT_FALSE(ReadCar(with_header(cbor::Value(v2))).ok());
  cbor::Value::Map no_roots;
  no_roots["version"] = 1;
  EXPECT_FALSE(ReadCar(with_header(cbor::Value(no_roots))).ok());
  cbor::Value::Map str_root;
  str_root["roots"] = cbor::Value(cbor::Value::List{cbor::Value("bafy")});
  str_root["version"] = 1;
  EXPECT_FALSE(ReadCar(with_header(cbor::Value(str_root))).ok());
  EXPECT_FALSE(ReadCar(Bytes{0x00}).ok());
  EXPECT_FALSE(ReadCar(Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}).ok());
  // Errors are sticky.
  CarReader r;
  EXPECT_FALSE(r.Feed(Bytes{0x00}).ok());
  EXPECT_FALSE(r.Feed(WriteCar({}, blocks)).ok());
}

}  // namespace
}  // namespace atcr::atproto
