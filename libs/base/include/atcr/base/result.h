// Result<T>: the value-or-error type every fallible path in atcr returns.
// Error carries a generic code (how to react), a human message (what was wrong and which
// limit broke), and an optional wire name (an OCI code, an XRPC error name) that the domain
// that produced it chose. Thread-compatible: a Result is a plain value.
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace atcr {

enum class ErrorCode {
  kInvalidArgument,    // bad input from the caller
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,   // authenticated but not allowed
  kUnauthenticated,    // missing or bad credentials
  kResourceExhausted,  // a size, count or quota limit was hit
  kFailedPrecondition, // state does not allow this (e.g. swap mismatch)
  kOutOfRange,         // offsets, ranges
  kUnavailable,        // a peer or a resource is temporarily unavailable
  kDeadlineExceeded,
  kAborted,
  kUnimplemented,
  kDataLoss,           // stored data is corrupt
  kInternal,           // a bug or an unexpected system failure
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // Domain wire name, e.g. "DIGEST_INVALID" (OCI) or "RecordNotFound" (XRPC). Empty = derive.
  std::string wire;

  Error() = default;
  Error(ErrorCode c, std::string msg, std::string wire_name = {})
      : code(c), message(std::move(msg)), wire(std::move(wire_name)) {}

  // "kInvalidArgument: message" style, for logs and CLI output.
  std::string ToString() const;
};

inline Error InvalidArgument(std::string msg, std::string wire = {}) {
  return Error(ErrorCode::kInvalidArgument, std::move(msg), std::move(wire));
}
inline Error NotFound(std::string msg, std::string wire = {}) {
  return Error(ErrorCode::kNotFound, std::move(msg), std::move(wire));
}
inline Error Internal(std::string msg, std::string wire = {}) {
  return Error(ErrorCode::kInternal, std::move(msg), std::move(wire));
}
inline Error ResourceExhausted(std::string msg, std::string wire = {}) {
  return Error(ErrorCode::kResourceExhausted, std::move(msg), std::move(wire));
}
// Error from errno after a failed system call; message = what + ": " + strerror(errno).
Error ErrnoError(const std::string& what, int err);

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)
  template <typename U>
    requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Result> &&
             !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, T>)
  Result(U&& value) : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;
inline Status Ok() { return Status(); }

}  // namespace atcr

#define ATCR_CONCAT_INNER_(a, b) a##b
#define ATCR_CONCAT_(a, b) ATCR_CONCAT_INNER_(a, b)

// Returns the error of `expr` (a Result) from the enclosing function.
#define ATCR_TRY(expr)                                   \
  do {                                                   \
    auto&& atcr_try_r_ = (expr);                         \
    if (!atcr_try_r_.ok()) return std::move(atcr_try_r_).error(); \
  } while (0)

// ATCR_ASSIGN_OR_RETURN(auto x, Foo());
#define ATCR_ASSIGN_OR_RETURN(lhs, expr) \
  ATCR_ASSIGN_OR_RETURN_IMPL_(ATCR_CONCAT_(atcr_r_, __LINE__), lhs, expr, return)
// Coroutine flavours.
#define ATCR_CO_TRY(expr)                                   \
  do {                                                      \
    auto&& atcr_try_r_ = (expr);                            \
    if (!atcr_try_r_.ok()) co_return std::move(atcr_try_r_).error(); \
  } while (0)
#define ATCR_CO_ASSIGN_OR_RETURN(lhs, expr) \
  ATCR_ASSIGN_OR_RETURN_IMPL_(ATCR_CONCAT_(atcr_r_, __LINE__), lhs, expr, co_return)

#define ATCR_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr, ret) \
  auto tmp = (expr);                                     \
  if (!tmp.ok()) ret std::move(tmp).error();             \
  lhs = std::move(tmp).value()
