// CAR v1 (Content Addressable aRchive), the format of repository exports, sync.getRepo and
// the firehose `blocks` field: varint(len) + DAG-CBOR header {roots, version: 1}, then blocks
// of varint(len(cid) + len(data)) + binary CID + data.
// CarReader is a bounded streaming parser: feed it bytes as they arrive and take blocks out;
// it never holds more than one block plus the unparsed tail, enforces limits on header size,
// block size, block count and total size, and checks every block's bytes against its CID.
// CarWriter emits the same format block by block. Both are single-threaded objects.
//
//   ATCR_ASSIGN_OR_RETURN(atproto::Car car, atproto::ReadCar(bytes));
//   Bytes out = atproto::WriteCar({commit_cid}, blocks);
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "atcr/atproto/block_store.h"
#include "atcr/base/encoding.h"
#include "atcr/base/result.h"
#include "atcr/cbor/cid.h"

namespace atcr::atproto {

struct CarLimits {
  size_t max_header_bytes = 64 * 1024;
  size_t max_roots = 16;
  size_t max_block_bytes = 2 * 1024 * 1024;       // data bytes of one block
  size_t max_blocks = 1'000'000;
  size_t max_total_bytes = 1024 * 1024 * 1024;    // the whole CAR
};

struct CarBlock {
  cbor::Cid cid;
  Bytes data;
};

struct Car {
  std::vector<cbor::Cid> roots;
  std::vector<CarBlock> blocks;  // in file order, duplicates kept
};

class CarReader {
 public:
  explicit CarReader(const CarLimits& limits = {});

  // Consumes `chunk`, parsing the header and every complete block in it. After an error the
  // reader stays failed and returns the same error.
  Status Feed(ByteSpan chunk);
  // Declares the end of input: an error if the header is missing or a block is cut short.
  Status Finish();

  bool header_done() const { return header_done_; }
  const std::vector<cbor::Cid>& roots() const { return roots_; }
  // Parsed blocks not yet taken, oldest first.
  std::optional<CarBlock> NextBlock();
  size_t blocks_read() const { return blocks_read_; }
  size_t bytes_read() const { return bytes_read_; }

 private:
  Status Parse();
  Status Fail(Error e);

  CarLimits limits_;
  Bytes buffer_;
  size_t offset_ = 0;  // parsed prefix of buffer_
  bool header_done_ = false;
  std::optional<Error> error_;
  std::vector<cbor::Cid> roots_;
  std::deque<CarBlock> ready_;
  size_t blocks_read_ = 0;
  size_t bytes_read_ = 0;
};

// Reads a whole CAR held in memory.
Result<Car> ReadCar(ByteSpan data, const CarLimits& limits = {});
// Reads a CAR into `store`; returns its roots. With exactly_one_root, anything but one root
// is an error (atproto repositories and commit slices have one root: the commit).
Result<std::vector<cbor::Cid>> ReadCarIntoStore(ByteSpan data, MemoryBlockStore* store,
                                                const CarLimits& limits = {},
                                                bool exactly_one_root = true);

class CarWriter {
 public:
  using Sink = std::function<void(ByteSpan)>;
  // Writes the header to `sink` right away.
  CarWriter(const std::vector<cbor::Cid>& roots, Sink sink);
  void Add(const cbor::Cid& cid, ByteSpan data);

 private:
  Sink sink_;
  Bytes scratch_;
};

Bytes WriteCar(const std::vector<cbor::Cid>& roots, const std::vector<CarBlock>& blocks);
Bytes WriteCar(const std::vector<cbor::Cid>& roots, const std::map<cbor::Cid, Bytes>& blocks);

}  // namespace atcr::atproto
