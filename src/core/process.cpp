#include "ctldb/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ctldb/error.hpp"
#include "ctldb/signals.hpp"

extern char** environ;

namespace ctldb {

namespace {
UserAccount from_passwd(const passwd* pw) {
    return UserAccount{pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir ? pw->pw_dir : "/"};
}

[[noreturn]] void child_fail(int fd, const char* what) {
    // Only async-signal-safe calls between fork and exec.
    const char* err = std::strerror(errno);
    (void)!::write(fd, what, std::strlen(what));
    (void)!::write(fd, ": ", 2);
    (void)!::write(fd, err, std::strlen(err));
    (void)!::write(fd, "\n", 1);
    _exit(127);
}
}  // namespace

std::optional<UserAccount> lookup_user(const std::string& name) {
    const passwd* pw = ::getpwnam(name.c_str());
    if (pw == nullptr) return std::nullopt;
    return from_passwd(pw);
}

UserAccount current_user() {
    const passwd* pw = ::getpwuid(::geteuid());
    if (pw == nullptr)
        return UserAccount{std::to_string(::geteuid()), ::geteuid(), ::getegid(), "/"};
    return from_passwd(pw);
}

std::string find_in_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= p.size()) {
        std::size_t end = p.find(':', start);
        if (end == std::string::npos) end = p.size();
        std::string dir = p.substr(start, end - start);
        if (dir.empty()) dir = ".";
        std::string candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    return {};
}

bool can_access_as(const UserAccount& account, const std::string& path, int mode) {
    if (account.uid == ::geteuid()) return ::access(path.c_str(), mode) == 0;
    pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
        if (::setgid(account.gid) != 0 || ::initgroups(account.name.c_str(), account.gid) != 0 ||
            ::setuid(account.uid) != 0) {
            _exit(2);
        }
        _exit(::access(path.c_str(), mode) == 0 ? 0 : 1);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
    if (!options.cleanup) throw_if_interrupted();
    // Build everything the child needs before fork: no allocation after it.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        std::string name = entry.substr(0, entry.find('='));
        if (options.clear_pg_env && name.rfind("PG", 0) == 0) continue;
        bool overridden = false;
        for (const auto& kv : options.env)
            overridden = overridden || kv.first == name;
        if (options.run_as && (name == "HOME" || name == "USER" || name == "LOGNAME")) continue;
        if (!overridden) env_strings.push_back(entry);
    }
    if (options.run_as) {
        env_strings.push_back("HOME=" + options.run_as->home);
        env_strings.push_back("USER=" + options.run_as->name);
        env_strings.push_back("LOGNAME=" + options.run_as->name);
    }
    for (const auto& kv : options.env)
        env_strings.push_back(kv.first + "=" + kv.second);
    std::vector<char*> envp;
    for (auto& s : env_strings)
        envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args)
        cargv.push_back(a.data());
    cargv.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw Error(ExitCode::failure, std::string("cannot create pipe: ") + std::strerror(errno));
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw Error(ExitCode::failure, std::string("cannot fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::signal(SIGINT, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        ::signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, 0);
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        if (options.run_as) {
            const UserAccount& u = *options.run_as;
            if (::setgid(u.gid) != 0) child_fail(2, "setgid");
            if (::initgroups(u.name.c_str(), u.gid) != 0) child_fail(2, "initgroups");
            if (::setuid(u.uid) != 0) child_fail(2, "setuid");
        }
        if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) child_fail(2, "chdir");
        ::execve(cargv[0], cargv.data(), envp.data());
        child_fail(2, cargv[0]);
    }
    ::close(fds[1]);
    TerminateOnSignal stop_child(pid);
    ProcessResult result;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        result.output.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    if (!options.cleanup) throw_if_interrupted();
    return result;
}

}  // namespace ctldb
