// Construction of the hold's GarbageCollector over its internals (gc.cpp).
#pragma once

#include <memory>

#include "atcr/hold/gc.h"
#include "atcr/hold/hold.h"

namespace atcr::hold::internal {

std::unique_ptr<GarbageCollector> NewGarbageCollector(Hold::Impl& hold);

}  // namespace atcr::hold::internal
