#include "atcr/atproto/car.h"

#include <algorithm>

#include "atcr/cbor/codec.h"
#include "atcr/cbor/value.h"
#include "atcr/cbor/varint.h"

namespace atcr::atproto {

using cbor::Cid;
using cbor::Value;

namespace {

// Outcome of looking for a varint at the start of `data`.
enum class VarintState { kComplete, kNeedMore, kInvalid };

VarintState PeekVarint(ByteSpan data, uint64_t* value, size_t* size) {
  for (size_t i = 0; i < data.size() && i < cbor::kMaxVarintBytes; ++i) {
    if ((data[i] & 0x80) == 0) {
      auto r = cbor::ReadVarint(data.subspan(0, i + 1), size);
      if (!r.ok()) return VarintState::kInvalid;
      *value = *r;
      return VarintState::kComplete;
    }
  }
  return data.size() >= cbor::kMaxVarintBytes ? VarintState::kInvalid : VarintState::kNeedMore;
}

Error CarError(const std::string& why, size_t offset) {
  return InvalidArgument("CAR: " + why + " at byte " + std::to_string(offset));
}

}  // namespace

CarReader::CarReader(const CarLimits& limits) : limits_(limits) {}

Status CarReader::Fail(Error e) {
  error_ = e;
  buffer_.clear();
  offset_ = 0;
  return e;
}

Status CarReader::Feed(ByteSpan chunk) {
  if (error_) return *error_;
  if (bytes_read_ + chunk.size() > limits_.max_total_bytes) {
    return Fail(ResourceExhausted("CAR larger than " + std::to_string(limits_.max_total_bytes) +
                                  " bytes"));
  }
  bytes_read_ += chunk.size();
  // Drop the parsed prefix before growing, so the buffer stays about one block in size.
  if (offset_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(offset_));
    offset_ = 0;
  }
  buffer_.insert(buffer_.end(), chunk.begin(), chunk.end());
  return Parse();
}

Status CarReader::Parse() {
  const size_t consumed_before = bytes_read_ - buffer_.size();  // file offset of buffer_[0]
  while (offset_ < buffer_.size()) {
    ByteSpan rest(buffer_.data() + offset_, buffer_.size() - offset_);
    size_t at = consumed_before + offset_;
    uint64_t len = 0;
    size_t len_size = 0;
    VarintState vs = PeekVarint(rest, &len, &len_size);
    if (vs == VarintState::kNeedMore) return Ok();
    if (vs == VarintState::kInvalid) return Fail(CarError("malformed length varint", at));
    if (!header_done_) {
      if (len == 0 || len > limits_.max_header_bytes) {
        return Fail(CarError("header length " + std::to_string(len) + " outside 1.." +
                                 std::to_string(limits_.max_header_bytes),
                             at));
      }
    } else {
      // A frame holds a CID (at most ~80 bytes for any supported multihash) and the data.
      if (len == 0) return Fail(CarError("empty block frame", at));
      if (len > limits_.max_block_bytes + 128) {
        return Fail(ResourceExhausted("CAR: block larger than " +
                                      std::to_string(limits_.max_block_bytes) + " bytes at byte " +
                                      std::to_string(at)));
      }
    }
    if (rest.size() - len_size < len) return Ok();  // wait for the rest of the frame
    ByteSpan frame = rest.subspan(len_size, static_cast<size_t>(len));
    if (!header_done_) {
      cbor::DecodeLimits dl;
      dl.max_input_bytes = limits_.max_header_bytes;
      dl.max_depth = 3;
      dl.allow_floats = false;
      auto header = cbor::Decode(frame, dl);
      if (!header.ok()) return Fail(CarError("header: " + header.error().message, at));
      const Value::Map* m = header->if_map();
      std::optional<int64_t> version = header->FindInt("version");
      const Value::List* roots = header->FindList("roots");
      if (m == nullptr || version != std::optional<int64_t>(1) || roots == nullptr ||
          m->size() != 2) {
        return Fail(CarError("header must be {roots: [links], version: 1}", at));
      }
      if (roots->size() > limits_.max_roots) return Fail(CarError("too many roots", at));
      for (const Value& r : *roots) {
        if (!r.is_link()) return Fail(CarError("header root is not a link", at));
        roots_.push_back(r.as_link());
      }
      header_done_ = true;
    } else {
      if (blocks_read_ >= limits_.max_blocks) {
        return Fail(ResourceExhausted("CAR has more than " + std::to_string(limits_.max_blocks) +
                                      " blocks"));
      }
      size_t cid_size = 0;
      auto cid = Cid::ReadPrefix(frame, &cid_size);
      if (!cid.ok()) return Fail(CarError("block CID: " + cid.error().message, at));
      ByteSpan data = frame.subspan(cid_size);
      if (data.size() > limits_.max_block_bytes) {
        return Fail(ResourceExhausted("CAR: block larger than " +
                                      std::to_string(limits_.max_block_bytes) + " bytes at byte " +
                                      std::to_string(at)));
      }
      if (auto st = cid->Verify(data); !st.ok()) {
        return Fail(CarError("block " + cid->ToString() + " does not match its bytes: " +
                                 st.error().message,
                             at));
      }
      ready_.push_back(CarBlock{std::move(cid).value(), Bytes(data.begin(), data.end())});
      ++blocks_read_;
    }
    offset_ += len_size + static_cast<size_t>(len);
  }
  return Ok();
}

Status CarReader::Finish() {
  if (error_) return *error_;
  if (!header_done_) return Fail(InvalidArgument("CAR: truncated before the end of the header"));
  if (offset_ != buffer_.size()) {
    return Fail(InvalidArgument("CAR: truncated inside a block (" +
                                std::to_string(buffer_.size() - offset_) + " trailing bytes)"));
  }
  return Ok();
}

std::optional<CarBlock> CarReader::NextBlock() {
  if (ready_.empty()) return std::nullopt;
  CarBlock b = std::move(ready_.front());
  ready_.pop_front();
  return b;
}

Result<Car> ReadCar(ByteSpan data, const CarLimits& limits) {
  CarReader reader(limits);
  ATCR_TRY(reader.Feed(data));
  ATCR_TRY(reader.Finish());
  Car car;
  car.roots = reader.roots();
  while (auto b = reader.NextBlock()) car.blocks.push_back(std::move(*b));
  return car;
}

Result<std::vector<Cid>> ReadCarIntoStore(ByteSpan data, MemoryBlockStore* store,
                                          const CarLimits& limits, bool exactly_one_root) {
  CarReader reader(limits);
  // Feed in slices so parsed blocks move into the store while the rest is still pending.
  constexpr size_t kSlice = 256 * 1024;
  for (size_t pos = 0; pos < data.size(); pos += kSlice) {
    ATCR_TRY(reader.Feed(data.subspan(pos, std::min(kSlice, data.size() - pos))));
    while (auto b = reader.NextBlock()) store->Put(b->cid, std::move(b->data));
  }
  ATCR_TRY(reader.Finish());
  if (exactly_one_root && reader.roots().size() != 1) {
    return InvalidArgument("CAR: expected exactly one root, found " +
                           std::to_string(reader.roots().size()));
  }
  return reader.roots();
}

CarWriter::CarWriter(const std::vector<Cid>& roots, Sink sink) : sink_(std::move(sink)) {
  Value::List list;
  for (const Cid& r : roots) list.emplace_back(r);
  Value::Map header;
  header["roots"] = Value(std::move(list));
  header["version"] = 1;
  Bytes h = cbor::Encode(Value(std::move(header)));
  scratch_.clear();
  cbor::AppendVarint(h.size(), scratch_);
  scratch_.insert(scratch_.end(), h.begin(), h.end());
  sink_(scratch_);
}

void CarWriter::Add(const Cid& cid, ByteSpan data) {
  scratch_.clear();
  cbor::AppendVarint(cid.bytes().size() + data.size(), scratch_);
  scratch_.insert(scratch_.end(), cid.bytes().begin(), cid.bytes().end());
  sink_(scratch_);
  sink_(data);
}

Bytes WriteCar(const std::vector<Cid>& roots, const std::vector<CarBlock>& blocks) {
  Bytes out;
  CarWriter w(roots, [&](ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); });
  for (const auto& b : blocks) w.Add(b.cid, b.data);
  return out;
}

Bytes WriteCar(const std::vector<Cid>& roots, const std::map<Cid, Bytes>& blocks) {
  Bytes out;
  CarWriter w(roots, [&](ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); });
  for (const auto& [cid, data] : blocks) w.Add(cid, data);
  return out;
}

}  // namespace atcr::atproto
