#include "sys/spawn.hpp"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "mproc/error.hpp"

extern char** environ;

namespace mproc::sys {
namespace {

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnAttr {
  SpawnAttr() {
    if (int rc = ::posix_spawnattr_init(&attr); rc != 0) {
      detail::throw_errno("posix_spawnattr_init", rc);
    }
  }
  ~SpawnAttr() { ::posix_spawnattr_destroy(&attr); }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
  posix_spawnattr_t attr;
};

struct FileActions {
  FileActions() {
    if (int rc = ::posix_spawn_file_actions_init(&actions); rc != 0) {
      detail::throw_errno("posix_spawn_file_actions_init", rc);
    }
  }
  ~FileActions() { ::posix_spawn_file_actions_destroy(&actions); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t actions;
};

bool same_name(const std::string& entry, const char* env) {
  const auto eq = entry.find('=');
  return eq != std::string::npos && std::strncmp(env, entry.data(), eq + 1) == 0;
}

}  // namespace

int spawn_self(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               int keep_fd) {
  SpawnAttr attr;
  FileActions files;
  // Every signal back to its default in the child, and the caller's mask.
  sigset_t all, mask;
  ::sigfillset(&all);
  if (int rc = ::pthread_sigmask(SIG_SETMASK, nullptr, &mask); rc != 0) {
    detail::throw_errno("pthread_sigmask", rc);
  }
  int rc = ::posix_spawnattr_setsigdefault(&attr.attr, &all);
  if (rc == 0) rc = ::posix_spawnattr_setsigmask(&attr.attr, &mask);
  if (rc == 0) {
    rc = ::posix_spawnattr_setflags(&attr.attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  }
  if (rc != 0) detail::throw_errno("posix_spawnattr", rc);
  // keep_fd becomes kSpawnedFd (dup2 onto itself clears close-on-exec: glibc >= 2.29), then every
  // fd above it closes.
  rc = ::posix_spawn_file_actions_adddup2(&files.actions, keep_fd, kSpawnedFd);
  if (rc == 0) rc = ::posix_spawn_file_actions_addclosefrom_np(&files.actions, kSpawnedFd + 1);
  if (rc != 0) detail::throw_errno("posix_spawn_file_actions", rc);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e) {
    bool replaced = false;
    for (const auto& entry : env) replaced = replaced || same_name(entry, *e);
    if (!replaced) envp.push_back(*e);
  }
  for (const auto& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  pid_t pid = 0;
  rc = ::posix_spawn(&pid, "/proc/self/exe", &files.actions, &attr.attr, args.data(),
                     envp.data());
  if (rc != 0) detail::throw_errno("posix_spawn(/proc/self/exe)", rc);
  return pid;
}

std::string take_env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return {};
  std::string value(v);
  ::unsetenv(name);
  return value;
}

}  // namespace mproc::sys
