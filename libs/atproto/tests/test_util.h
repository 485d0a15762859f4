// The atproto tests read interop vectors through the project-wide test helpers.
#pragma once

#include "atcr/testing/interop.h"

namespace atcr::atproto::testing {
using atcr::testing::Interop;
using atcr::testing::ReadFile;
using atcr::testing::ReadJson;
using atcr::testing::VectorLines;
}  // namespace atcr::atproto::testing
