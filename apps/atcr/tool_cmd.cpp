// `atcr tool`: protocol tools for operators (CBOR/CID, MST, CAR, keys, JWTs, syntax, identity).
// This file registers the group and holds the helpers every tool_*.cpp shares.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <string>

#include "atcr/base/encoding.h"
#include "command.h"
#include "tool_common.h"

namespace atcr::app::tool {

void Run(std::string_view name, int* exit_code, const std::function<int()>& body) {
  try {
    *exit_code = body();
  } catch (const std::exception& e) {
    *exit_code = Fail(name, std::string("unexpected error: ") + e.what(), kExitUsage);
  }
  std::fflush(stdout);
}

int Fail(std::string_view name, std::string_view message, int code) {
  std::fprintf(stderr, "atcr tool %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
               static_cast<int>(message.size()), message.data());
  return code;
}

int Fail(std::string_view name, const Error& error, int code) {
  return Fail(name, error.message, code);
}

namespace {

// An open input: stdin for "-" (not closed), else the file.
class InputFd {
 public:
  static Result<InputFd> Open(const std::string& path) {
    if (path == "-") return InputFd(STDIN_FILENO, false);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("cannot open " + path, errno);
    return InputFd(fd, true);
  }
  InputFd(InputFd&& o) noexcept : fd_(o.fd_), owned_(o.owned_) { o.owned_ = false; }
  InputFd& operator=(InputFd&&) = delete;
  ~InputFd() {
    if (owned_) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  InputFd(int fd, bool owned) : fd_(fd), owned_(owned) {}
  int fd_;
  bool owned_;
};

}  // namespace

Status StreamInput(const std::string& path, size_t chunk_size,
                   const std::function<Status(ByteSpan)>& chunk) {
  ATCR_ASSIGN_OR_RETURN(InputFd in, InputFd::Open(path));
  Bytes buf(chunk_size);
  for (;;) {
    ssize_t n = ::read(in.fd(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot read " + (path == "-" ? std::string("stdin") : path), errno);
    }
    if (n == 0) return Ok();
    ATCR_TRY(chunk(ByteSpan(buf.data(), static_cast<size_t>(n))));
  }
}

Result<Bytes> ReadInput(const std::string& path, size_t max_bytes) {
  Bytes out;
  Status s = StreamInput(path, 64 * 1024, [&](ByteSpan b) -> Status {
    if (out.size() + b.size() > max_bytes) {
      return ResourceExhausted((path == "-" ? std::string("stdin") : path) +
                               " is larger than the limit of " + std::to_string(max_bytes) +
                               " bytes");
    }
    out.insert(out.end(), b.begin(), b.end());
    return Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Status WriteOutput(const std::string& path, ByteSpan data) {
  int fd = STDOUT_FILENO;
  if (path != "-") {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoError("cannot create " + path, errno);
  } else {
    std::fflush(stdout);
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      if (fd != STDOUT_FILENO) ::close(fd);
      return ErrnoError("cannot write " + path, err);
    }
    off += static_cast<size_t>(n);
  }
  if (fd != STDOUT_FILENO && ::close(fd) != 0) return ErrnoError("cannot write " + path, errno);
  return Ok();
}

Result<Bytes> DecodeBase64Loose(std::string_view text) {
  auto std_form = Base64Decode(text, Base64Variant::kStandard);
  if (std_form.ok()) return std_form;
  auto url_form = Base64Decode(text, Base64Variant::kUrl);
  if (url_form.ok()) return url_form;
  return std::move(std_form).error();
}

namespace {

CommandRegistration kTool(500, [](CLI::App& root, int* exit_code) {
  auto* tool = root.add_subcommand(
      "tool", "protocol tools: CBOR/CID, MST, CAR, keys, signatures, JWTs, syntax, resolution");
  tool->require_subcommand(1);
  AddDataCommands(*tool, exit_code);
  AddKeyCommands(*tool, exit_code);
  AddRepoCommands(*tool, exit_code);
  AddIdentityCommands(*tool, exit_code);
});

}  // namespace
}  // namespace atcr::app::tool
