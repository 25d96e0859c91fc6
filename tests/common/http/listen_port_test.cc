#include "common/http/listen_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <doctest/doctest.h>

#include "support/foreign_listener.h"

using namespace oauthdemo;

TEST_SUITE("http::listen_port") {
  TEST_CASE("listening_inodes reads the LISTEN lines of /proc/net/tcp and tcp6 for one port") {
    const std::string tcp =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:0BB9 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n"
        "   1: 0100007F:0BB9 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 20 4 30 10 -1\n"
        "   2: 00000000:0BBA 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4444 1 0 100 0 0 10 0\n"
        "   3: garbage\n";
    CHECK(http::listening_inodes(tcp, 3001) == std::vector<unsigned long>{4242});  // 0BB9 = 3001, 01 = established
    CHECK(http::listening_inodes(tcp, 3002) == std::vector<unsigned long>{4444});
    CHECK(http::listening_inodes(tcp, 3003).empty());
    const std::string tcp6 =
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
        "tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000001000000:0BB9 00000000000000000000000000000000:0000 0A 00000000:00000000 "
        "00:00000000 00000000  1000        0 5151 1 0 100 0 0 10 0\n";
    CHECK(http::listening_inodes(tcp6, 3001) == std::vector<unsigned long>{5151});
  }

  TEST_CASE("a port another process holds with SO_REUSEPORT cannot be bound, and the holder is named") {
    testing::ForeignListener other;
    CHECK(http::probe_bind("127.0.0.1", other.port()) == EADDRINUSE);
    CHECK(http::describe_port_holder(other.port()) == other.description());
    CHECK(http::bind_failure_message("127.0.0.1", other.port(), "--port") ==
          "port " + std::to_string(other.port()) + " on 127.0.0.1 is in use by " + other.description() +
              "; stop that program or choose another port with --port");
  }

  TEST_CASE("a socket with the listener options never joins a SO_REUSEPORT listener") {
    testing::ForeignListener other;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    http::set_listener_options(fd);
    int reuse_port = -1;
    socklen_t len = sizeof reuse_port;
    REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuse_port, &len) == 0);
    CHECK(reuse_port == 0);
    int reuse_addr = 0;
    REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse_addr, &len) == 0);
    CHECK(reuse_addr == 1);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(other.port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0);
    CHECK(errno == EADDRINUSE);
    ::close(fd);
  }

  TEST_CASE("port 0 always binds and nobody holds it; other failures keep their reason") {
    CHECK(http::probe_bind("127.0.0.1", 0) == 0);
    CHECK(http::describe_port_holder(0) == "");
    // 192.0.2.1 (TEST-NET-1) is no local address: the bind fails without sending anything.
    CHECK(http::bind_failure_message("192.0.2.1", 3001, "--port or BACKEND_PORT") ==
          "cannot listen on 192.0.2.1:3001: Cannot assign requested address (--port or BACKEND_PORT)");
  }
}
