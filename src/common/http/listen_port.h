#pragma once
// Listening ports that one process owns: the socket options every listener of the three programs
// uses, and the message for a port another process holds (which process, which setting to change).
#include <string>
#include <string_view>
#include <vector>

namespace oauthdemo::http {

// The options for a listening socket, before bind: SO_REUSEADDR only, so a restart can bind while
// old connections sit in TIME_WAIT. Never SO_REUSEPORT (cpp-httplib's default): with it a second
// process may listen on the same port and the kernel splits the connections between the two.
// On Linux, SO_REUSEADDR still refuses a second listener on a port. Pass to set_socket_options.
void set_listener_options(int fd);

// The socket inodes of the TCP listeners on `port` in the text of /proc/net/tcp or /proc/net/tcp6
// (state 0A). Pure; lines it cannot read are skipped.
std::vector<unsigned long> listening_inodes(std::string_view proc_net_tcp, int port);

// Who listens on TCP `port` on any address, from <proc>/net/tcp{,6} and <proc>/PID/fd:
// "pid 1234 (oauthdemo-apid)", or "" when unknown (another user's process, no /proc).
std::string describe_port_holder(int port, const std::string& proc = "/proc");

// The errno of a probe bind of host:port with the listener options (0: it could be bound now;
// the probe socket is closed at once). For a host name, its first address.
int probe_bind(const std::string& host, int port);

// "port P on HOST is in use by pid N (NAME); stop that program or choose another port with HINT",
// without the "by ..." part when the holder is unknown.
std::string port_in_use_message(const std::string& host, int port, std::string_view setting_hint);

// Why binding host:port failed, for a bind that cpp-httplib or the caller tried: the in-use
// message above when the port is taken, else "cannot listen on HOST:PORT: REASON (HINT)".
std::string bind_failure_message(const std::string& host, int port, std::string_view setting_hint);

}  // namespace oauthdemo::http
