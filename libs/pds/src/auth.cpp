#include "atcr/pds/auth.h"

namespace atcr::pds {

const char* CallerKindName(Caller::Kind kind) {
  switch (kind) {
    case Caller::Kind::kAccess:
      return "access";
    case Caller::Kind::kAppPassword:
      return "app-password";
    case Caller::Kind::kAdmin:
      return "admin";
  }
  return "unknown";
}

}  // namespace atcr::pds
