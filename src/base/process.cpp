#include "base/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/error.hpp"
#include "base/signals.hpp"

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

namespace {
/// The environment of a child: ours, minus PG* when asked, with the
/// account's HOME/USER/LOGNAME and the options' overrides.
std::vector<std::string> child_environment(const ProcessOptions& options) {
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
    return env_strings;
}

/// In the child after fork: drop to the account, change directory. Only
/// async-signal-safe calls.
void child_setup(const ProcessOptions& options, pid_t parent) {
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (options.run_as) {
        const UserAccount& u = *options.run_as;
        if (::setgid(u.gid) != 0) child_fail(2, "setgid");
        if (::initgroups(u.name.c_str(), u.gid) != 0) child_fail(2, "initgroups");
        if (::setuid(u.uid) != 0) child_fail(2, "setuid");
    }
    // Die with ctldb, SIGKILL included: an orphaned pg_dump would go on
    // writing a .partial and an orphaned pg_restore would finish a restore
    // nobody checks. Set after setuid (a credential change clears it), and
    // checked against a parent that died before prctl() took effect.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(2, "prctl");
    if (::getppid() != parent) _exit(127);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) child_fail(2, "chdir");
}
/// Everything execve() needs, built before fork: nothing is allocated in
/// the child.
class ExecImage {
  public:
    ExecImage(const std::vector<std::string>& argv, const ProcessOptions& options)
        : args_(argv), env_(child_environment(options)) {
        for (auto& a : args_)
            argv_.push_back(a.data());
        argv_.push_back(nullptr);
        for (auto& e : env_)
            envp_.push_back(e.data());
        envp_.push_back(nullptr);
    }
    char* const* argv() { return argv_.data(); }
    char* const* envp() { return envp_.data(); }

  private:
    std::vector<std::string> args_, env_;
    std::vector<char*> argv_, envp_;
};

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
    if (!options.cleanup) throw_if_interrupted();
    // Build everything the child needs before fork: no allocation after it.
    ExecImage image(argv, options);
    char* const* cargv = image.argv();
    char* const* envp = image.envp();

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw Error(ExitCode::failure, std::string("cannot create pipe: ") + std::strerror(errno));
    }
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw Error(ExitCode::failure, std::string("cannot fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        if (options.stdin_fd >= 0) {
            ::dup2(options.stdin_fd, 0);
        } else {
            int devnull = ::open("/dev/null", O_RDONLY);
            if (devnull >= 0) ::dup2(devnull, 0);
        }
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        child_setup(options, parent);
        ::execve(cargv[0], cargv, envp);
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

namespace ctldb {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const ProcessOptions& options,
                           Pipes pipes) {
    throw_if_interrupted();
    ExecImage image(argv, options);
    char* const* cargv = image.argv();
    char* const* envp = image.envp();

    int in_fds[2] = {-1, -1}, out_fds[2] = {-1, -1};
    auto fail = [&](const char* what) {
        for (int fd : {in_fds[0], in_fds[1], out_fds[0], out_fds[1], err_}) {
            if (fd >= 0) ::close(fd);
        }
        throw Error(ExitCode::failure, std::string(what) + ": " + std::strerror(errno));
    };
    if (pipes.stdin_pipe && ::pipe2(in_fds, O_CLOEXEC) != 0) fail("cannot create pipe");
    if (pipes.stdout_pipe && ::pipe2(out_fds, O_CLOEXEC) != 0) fail("cannot create pipe");
    // stderr goes to an unnamed file: it can never fill up and block the child.
    err_ = ::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (err_ < 0) fail("cannot create a temporary file in /tmp");
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) fail("cannot fork");
    if (pid_ == 0) {
        int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(pipes.stdin_pipe ? in_fds[0] : pipes.stdin_fd >= 0 ? pipes.stdin_fd : devnull, 0);
        if (pipes.stdout_pipe) {
            ::dup2(out_fds[1], 1);
        } else {
            ::dup2(pipes.stdout_fd >= 0 ? pipes.stdout_fd : devnull, 1);
        }
        ::dup2(err_, 2);
        child_setup(options, parent);
        ::execve(cargv[0], cargv, envp);
        child_fail(2, cargv[0]);
    }
    on_signal_ = std::make_unique<TerminateOnSignal>(pid_);
    if (pipes.stdin_pipe) {
        ::close(in_fds[0]);
        in_ = in_fds[1];
    }
    if (pipes.stdout_pipe) {
        ::close(out_fds[1]);
        out_ = out_fds[0];
    }
}

ChildProcess::~ChildProcess() {
    if (!reaped_) stop();
    close_in();
    if (out_ >= 0) ::close(out_);
    if (err_ >= 0) ::close(err_);
}

void ChildProcess::close_in() {
    if (in_ >= 0) {
        ::close(in_);
        in_ = -1;
    }
}

void ChildProcess::read_out(const std::function<void(const char*, std::size_t)>& chunk,
                            const std::string& what) {
    std::vector<char> buf(256 * 1024);
    for (;;) {
        const ssize_t n = ::read(out_, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            throw_if_interrupted();
            continue;
        }
        if (n < 0) throw Error(ExitCode::failure, "reading " + what + ": " + std::strerror(errno));
        if (n == 0) return;
        chunk(buf.data(), static_cast<std::size_t>(n));
    }
}

ProcessResult ChildProcess::wait() {
    ProcessResult result;
    close_in();
    int status = 0;
    if (!reaped_) {
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
        if (WIFEXITED(status)) {
            result.exit_code = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
            result.signal = WTERMSIG(status);
        }
    }
    char buf[4096];
    ::lseek(err_, 0, SEEK_SET);
    for (;;) {
        ssize_t n = ::read(err_, buf, sizeof buf);
        if (n <= 0) break;
        result.output.append(buf, static_cast<std::size_t>(n));
        if (result.output.size() > 65536) break;
    }
    return result;
}

void ChildProcess::stop() {
    if (reaped_ || pid_ <= 0) return;
    close_in();
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 50; ++i) {  // 5 s grace
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || (r < 0 && errno != EINTR)) {
            reaped_ = true;
            return;
        }
        ::usleep(100000);
    }
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
}

std::string host_name() {
    char host[256] = "";
    ::gethostname(host, sizeof host - 1);
    return host;
}

}  // namespace ctldb
