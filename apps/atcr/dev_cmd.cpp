// `atcr dev`: the whole system on one machine with embedded defaults — the development PLC
// directory, a PDS, a public hold on the filesystem owned by the dev account, and the AppView —
// each as a child process of this one (the same binary), configured through their ATCR_*
// environment overrides. On first run it creates the account dev.test with an app password and
// writes DIR/dev-account.json; later runs reuse everything under DIR. SIGINT/SIGTERM stop the
// children in reverse order. Wiring only.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "atcr/base/encoding.h"
#include "atcr/base/hash.h"
#include "atcr/net/http_client.h"
#include "command.h"

namespace atcr::app {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct DevFlags {
  std::string data = ".atcr-dev";
  int port_base = 0;
};

struct Child {
  std::string name;
  pid_t pid = -1;
  std::string log;
};

void Say(const std::string& line) { std::fprintf(stderr, "atcr dev: %s\n", line.c_str()); }

std::string SelfExe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("atcr") : p.string();
}

// Starts `atcr <args>` with extra environment, stdout+stderr appended to `log`; the child gets
// SIGTERM if this process dies.
Result<pid_t> Spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                    const std::string& log) {
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("open " + log, errno);
  std::string exe = SelfExe();
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return ErrnoError("fork", errno);
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setpgid(0, 0);  // Ctrl-C in the terminal reaches only `atcr dev`, which stops us in order
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    argv.push_back(exe.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    _exit(127);
  }
  ::close(fd);
  return pid;
}

std::string Tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  std::string l;
  while (std::getline(in, l)) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "    " + all[i] + "\n";
  }
  return out;
}

// Polls url until it answers 200; fails when the child exits or after `seconds`.
Status WaitHealthy(net::HttpClient& http, Child& child, const std::string& url, int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    int status = 0;
    if (::waitpid(child.pid, &status, WNOHANG) == child.pid) {
      child.pid = -1;  // reaped: StopAll must not wait for it
      return Error(ErrorCode::kUnavailable, child.name + " exited during start; last lines of " +
                                                child.log + ":\n" + Tail(child.log, 15));
    }
    net::ClientRequest req;
    req.url = url;
    req.timeout = std::chrono::milliseconds(1000);
    auto r = http.SendSync(std::move(req));
    if (r.ok() && r->status == 200) return Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Error(ErrorCode::kDeadlineExceeded,
               child.name + " did not answer " + url + " within " + std::to_string(seconds) +
                   "s; last lines of " + child.log + ":\n" + Tail(child.log, 15));
}

Result<json::object> PostJson(net::HttpClient& http, const std::string& url, const std::string& body,
                              const std::string& bearer = {}) {
  net::ClientRequest req;
  req.method = net::Method::kPost;
  req.url = url;
  req.headers.Set("Content-Type", "application/json");
  if (!bearer.empty()) req.headers.Set("Authorization", "Bearer " + bearer);
  req.body = body;
  ATCR_ASSIGN_OR_RETURN(auto r, http.SendSync(std::move(req)));
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (r.status != 200 || ec || !v.is_object()) {
    return Error(ErrorCode::kFailedPrecondition,
                 url + ": HTTP " + std::to_string(r.status) + " " + r.body);
  }
  return v.as_object();
}

struct DevAccount {
  std::string handle, did, password, app_password;
};

Result<DevAccount> LoadAccount(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(ss.str(), ec);
  if (ec || !v.is_object()) return InvalidArgument(path + " is not JSON");
  auto& o = v.as_object();
  auto str = [&](const char* k) -> std::string {
    auto* p = o.if_contains(k);
    return p && p->is_string() ? std::string(p->as_string()) : std::string();
  };
  DevAccount a{str("handle"), str("did"), str("password"), str("appPassword")};
  if (a.did.empty() || a.handle.empty()) return InvalidArgument(path + " lacks handle or did");
  return a;
}

Result<DevAccount> CreateAccount(net::HttpClient& http, const std::string& pds_url,
                                 const std::string& path) {
  DevAccount a;
  a.handle = "dev.test";
  a.password = "dev-" + HexEncode(RandomBytes(12));
  json::object req{{"handle", a.handle}, {"password", a.password}};
  ATCR_ASSIGN_OR_RETURN(auto created,
                        PostJson(http, pds_url + "/xrpc/com.atproto.server.createAccount",
                                 json::serialize(req)));
  a.did = std::string(created.at("did").as_string());
  std::string access(created.at("accessJwt").as_string());
  json::object ap{{"name", "docker"}};
  ATCR_ASSIGN_OR_RETURN(auto app, PostJson(http, pds_url + "/xrpc/com.atproto.server.createAppPassword",
                                           json::serialize(ap), access));
  a.app_password = std::string(app.at("password").as_string());
  json::object out{{"handle", a.handle}, {"did", a.did}, {"password", a.password},
                   {"appPassword", a.app_password}};
  std::string tmp = path + ".tmp";
  {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("open " + tmp, errno);
    std::string text = json::serialize(out) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return ErrnoError("write " + tmp, errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("rename " + tmp, errno);
  return a;
}

void StopAll(std::vector<Child>& children) {
  for (auto it = children.rbegin(); it != children.rend(); ++it) {
    if (it->pid <= 0) continue;
    ::kill(it->pid, SIGTERM);
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 150; ++i) {
      pid_t r = ::waitpid(it->pid, &status, WNOHANG);
      if (r == it->pid || (r < 0 && errno == ECHILD)) {
        gone = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!gone) {
      Say(it->name + " did not stop within 15s; killing it");
      ::kill(it->pid, SIGKILL);
      ::waitpid(it->pid, &status, 0);
    }
    it->pid = -1;
  }
}

int RunDev(const DevFlags& flags) {
  // SIGINT/SIGTERM are taken with sigtimedwait below, never by a handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

  const int base = flags.port_base;
  if (base != 0 && (base < 1 || base > 65532)) {
    Say("--port-base must be between 1 and 65532");
    return 2;
  }
  const int appview_port = base ? base : 5000;
  const int pds_port = base ? base + 1 : 2583;
  const int plc_port = base ? base + 2 : 2582;
  const int hold_port = base ? base + 3 : 8080;
  const std::string host = "127.0.0.1";
  auto url = [&](int port) { return "http://" + host + ":" + std::to_string(port); };
  const std::string plc_url = url(plc_port), pds_url = url(pds_port), hold_url = url(hold_port),
                    appview_url = url(appview_port);

  std::error_code ec;
  fs::create_directories(flags.data + "/logs", ec);
  if (ec) {
    Say("cannot create " + flags.data + ": " + ec.message());
    return 1;
  }
  const std::string data = fs::absolute(flags.data).lexically_normal().string();
  ::chmod(data.c_str(), 0700);
  net::HttpClient http;
  std::vector<Child> children;
  auto fail = [&](const std::string& what) {
    Say(what);
    StopAll(children);
    return 1;
  };
  auto start = [&](const std::string& name, std::vector<std::string> args,
                   std::map<std::string, std::string> env, const std::string& health) -> Status {
    Child c{name, -1, data + "/logs/" + name + ".log"};
    ATCR_ASSIGN_OR_RETURN(c.pid, Spawn(args, env, c.log));
    children.push_back(c);
    return WaitHealthy(http, children.back(), health, 60);
  };

  Status st = start("plc", {"plc", "serve", "--addr", host + ":" + std::to_string(plc_port),
                            "--data", data + "/plc"},
                    {}, plc_url + "/_health");
  if (!st.ok()) return fail(st.error().message);
  st = start("pds", {"pds", "serve", "--addr", host + ":" + std::to_string(pds_port), "--data",
                     data + "/pds", "--plc", plc_url, "--handle-domain", ".test"},
             {}, pds_url + "/xrpc/_health");
  if (!st.ok()) return fail(st.error().message);

  const std::string account_file = data + "/dev-account.json";
  auto account = LoadAccount(account_file);
  bool created = false;
  if (!account.ok()) {
    if (account.error().code != ErrorCode::kNotFound) return fail(account.error().message);
    account = CreateAccount(http, pds_url, account_file);
    if (!account.ok()) return fail("creating dev.test: " + account.error().message);
    created = true;
  }

  std::string hold_did = "did:web:" + host + "%3A" + std::to_string(hold_port);
  st = start("hold", {"hold", "serve"},
             {{"ATCR_HOLD_SERVER_ADDR", host + ":" + std::to_string(hold_port)},
              {"ATCR_HOLD_SERVER_PUBLIC_URL", hold_url},
              {"ATCR_HOLD_SERVER_PUBLIC", "true"},
              {"ATCR_HOLD_SERVER_DATA_DIR", data + "/hold"},
              {"ATCR_HOLD_SERVER_PLC_DIRECTORY_URL", plc_url},
              {"ATCR_HOLD_STORAGE_DRIVER", "filesystem"},
              {"ATCR_HOLD_REGISTRATION_OWNER_DID", account->did}},
             hold_url + "/healthz");
  if (!st.ok()) return fail(st.error().message);
  st = start("appview", {"appview", "serve"},
             {{"ATCR_APPVIEW_ADDR", host + ":" + std::to_string(appview_port)},
              {"ATCR_APPVIEW_DATA", data + "/appview"},
              {"ATCR_APPVIEW_HOLD_DEFAULT_DID", hold_did},
              {"ATCR_APPVIEW_HOLD_DEFAULT_URL", hold_url},
              {"ATCR_APPVIEW_IDENTITY_PLC_URL", plc_url},
              {"ATCR_APPVIEW_IDENTITY_HANDLE_OVERRIDES", ".test=" + pds_url}},
             appview_url + "/healthz");
  if (!st.ok()) return fail(st.error().message);

  std::string registry = "localhost:" + std::to_string(appview_port);
  std::fprintf(stdout,
               "\natcr dev is up (%s):\n"
               "  AppView (registry)  %s\n  PDS                 %s\n  PLC directory       %s\n"
               "  hold                %s  (%s)\n"
               "account %s (%s) %s; credentials in %s\n\n"
               "  docker login %s -u %s -p %s\n"
               "  docker tag busybox %s/%s/hello:latest\n"
               "  docker push %s/%s/hello:latest\n\n"
               "logs in %s/logs/; Ctrl-C stops everything.\n",
               data.c_str(), appview_url.c_str(), pds_url.c_str(), plc_url.c_str(),
               hold_url.c_str(), hold_did.c_str(), account->handle.c_str(), account->did.c_str(),
               created ? "created" : "reused", account_file.c_str(), registry.c_str(),
               account->handle.c_str(), account->app_password.c_str(), registry.c_str(),
               account->handle.c_str(), registry.c_str(), account->handle.c_str(), data.c_str());
  std::fflush(stdout);

  // Until a stop signal, or until a child dies (then stop the rest and report it).
  while (true) {
    timespec tick{0, 250 * 1000 * 1000};
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      Say(std::string("stopping (") + strsignal(sig) + ")");
      StopAll(children);
      return 0;
    }
    for (auto& c : children) {
      int status = 0;
      if (c.pid > 0 && ::waitpid(c.pid, &status, WNOHANG) == c.pid) {
        c.pid = -1;
        return fail(c.name + " exited unexpectedly; last lines of " + c.log + ":\n" +
                    Tail(c.log, 15));
      }
    }
  }
}

CommandRegistration kDev(10, [](CLI::App& root, int* exit_code) {
  auto flags = std::make_shared<DevFlags>();
  auto* dev = root.add_subcommand(
      "dev", "run PLC directory, PDS, hold and AppView on this machine (what `make dev` runs)");
  dev->add_option("--data", flags->data, "data directory (default ./.atcr-dev)");
  dev->add_option("--port-base", flags->port_base,
                  "AppView on N, PDS N+1, PLC N+2, hold N+3 (default 5000, 2583, 2582, 8080)");
  dev->callback([flags, exit_code] { *exit_code = RunDev(*flags); });
});

}  // namespace
}  // namespace atcr::app
