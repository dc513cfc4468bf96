// Test helper: a TCP listener on 127.0.0.1 that accepts connections and
// never answers, to exercise connect timeouts and interruption. Prints its
// port, then exits by itself after the given number of seconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

int main(int argc, char** argv) {
    const int lifetime = argc > 1 ? std::atoi(argv[1]) : 60;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(fd, 16) != 0) {
        std::perror("blackhole");
        return 1;
    }
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("%d\n", ntohs(addr.sin_port));
    std::fflush(stdout);
    // Connections complete in the kernel's backlog; nobody ever reads them.
    const std::time_t end = std::time(nullptr) + lifetime;
    while (std::time(nullptr) < end)
        sleep(1);
    return 0;
}
