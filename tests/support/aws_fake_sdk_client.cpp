#include "support/aws_fake_sdk_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

extern char** environ;

namespace ztp::testing {

namespace {

std::filesystem::path sdk_dir() { return source_dir() / "tests" / "aws-sdk"; }

nlohmann::json failure(const std::string& message) {
  return {{"ok", false}, {"error", {{"name", "ClientFailure"}, {"message", message}}}};
}

}  // namespace

std::string aws_sdk_missing() {
  if (find_tool("node").empty()) {
    return "'node' is not installed: run `apt-get install nodejs`";
  }
  for (const char* package : {"client-ecs", "client-ecr", "client-elastic-load-balancing-v2",
                              "client-cloudwatch", "client-sts"}) {
    if (!std::filesystem::exists(sdk_dir() / "node_modules" / "@aws-sdk" / package /
                                 "package.json")) {
      return std::string("the AWS SDK for JavaScript (@aws-sdk/") + package +
             ") is not installed: run `npm ci --prefix tests/aws-sdk`";
    }
  }
  return "";
}

AwsSdkClient::AwsSdkClient(const std::string& endpoint, const std::string& region) {
  if (std::string missing = aws_sdk_missing(); !missing.empty()) {
    m_error = missing;
    return;
  }
  // A write to a script that died must fail with EPIPE, not end the test.
  ::signal(SIGPIPE, SIG_IGN);
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    m_error = std::string("pipe: ") + std::strerror(errno);
    return;
  }
  std::string log = (m_tmp / "stderr.log").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&actions, sdk_dir().c_str());
  std::vector<std::string> args = {find_tool("node"), (sdk_dir() / "fake_client.mjs").string(),
                                   "--endpoint",      endpoint,
                                   "--region",        region};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    // The SDK must talk to the fake only: no proxy, no profile or credentials of this machine.
    if (entry.rfind("AWS_", 0) != 0 && entry.rfind("HTTP_PROXY=", 0) != 0 &&
        entry.rfind("HTTPS_PROXY=", 0) != 0 && entry.rfind("http_proxy=", 0) != 0 &&
        entry.rfind("https_proxy=", 0) != 0) {
      env_strings.push_back(entry);
    }
  }
  env_strings.push_back("NODE_NO_WARNINGS=1");
  env_strings.push_back("AWS_CONFIG_FILE=/dev/null");
  env_strings.push_back("AWS_SHARED_CREDENTIALS_FILE=/dev/null");
  std::vector<char*> envp;
  for (auto& e : env_strings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    m_error = std::string("cannot start node: ") + std::strerror(rc);
    return;
  }
  m_pid = pid;
  m_in = in[1];
  m_out = out[0];
}

AwsSdkClient::~AwsSdkClient() {
  if (m_in >= 0) {
    ::close(m_in);  // the script ends at the end of its input
  }
  if (m_pid > 0) {
    for (int i = 0; i < 250; ++i) {
      if (::waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
        m_pid = -1;
        break;
      }
      ::usleep(20'000);
    }
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
  }
  if (m_out >= 0) {
    ::close(m_out);
  }
}

nlohmann::json AwsSdkClient::run(const nlohmann::json& command, std::chrono::seconds timeout) {
  if (!ok()) {
    return failure(m_error);
  }
  std::string line = command.dump() + "\n";
  for (std::size_t done = 0; done < line.size();) {
    ssize_t n = ::write(m_in, line.data() + done, line.size() - done);
    if (n <= 0) {
      return failure("the SDK script stopped reading: " + read_text(m_tmp / "stderr.log"));
    }
    done += static_cast<std::size_t>(n);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (m_buffer.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return failure("the SDK script did not answer in time: " + read_text(m_tmp / "stderr.log"));
    }
    pollfd p{m_out, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char buf[65536];
    ssize_t n = ::read(m_out, buf, sizeof buf);
    if (n <= 0) {
      return failure("the SDK script exited: " + read_text(m_tmp / "stderr.log"));
    }
    m_buffer.append(buf, static_cast<std::size_t>(n));
  }
  auto eol = m_buffer.find('\n');
  std::string answer = m_buffer.substr(0, eol);
  m_buffer.erase(0, eol + 1);
  auto parsed = nlohmann::json::parse(answer, nullptr, false);
  if (parsed.is_discarded()) {
    return failure("the SDK script answered something else than JSON: " + answer);
  }
  return parsed;
}

nlohmann::json AwsSdkClient::call(const std::string& client, const std::string& command,
                                  const nlohmann::json& input, const nlohmann::json& config) {
  return run({{"client", client}, {"command", command}, {"input", input}, {"config", config}});
}

}  // namespace ztp::testing
