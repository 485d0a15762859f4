// libFuzzer target for the CAR reader: arbitrary bytes must never crash, hang or allocate
// past the limits, whether they arrive in one piece or in fuzzer-chosen chunks; whatever
// parses must survive MST loading from the blocks it carried.
#include <cstddef>
#include <cstdint>

#include "atcr/atproto/car.h"
#include "atcr/atproto/mst.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace atcr;
  atproto::CarLimits limits;
  limits.max_block_bytes = 64 * 1024;
  limits.max_blocks = 4096;
  limits.max_total_bytes = 4 * 1024 * 1024;
  ByteSpan input(data, size);

  atproto::MemoryBlockStore store;
  auto roots = atproto::ReadCarIntoStore(input, &store, limits, /*exactly_one_root=*/false);

  // Same bytes, streamed in chunks whose sizes come from the input itself.
  atproto::CarReader reader(limits);
  size_t pos = 0;
  while (pos < size) {
    size_t chunk = 1 + data[pos] % 97;
    if (chunk > size - pos) chunk = size - pos;
    if (!reader.Feed(input.subspan(pos, chunk)).ok()) break;
    while (reader.NextBlock()) {
    }
    pos += chunk;
  }
  (void)reader.Finish();

  if (roots.ok()) {
    atproto::MstLoadLimits mst_limits;
    mst_limits.max_nodes = 4096;
    mst_limits.max_keys = 65536;
    for (const auto& root : *roots) (void)atproto::Mst::Load(store, root, mst_limits);
  }
  return 0;
}
